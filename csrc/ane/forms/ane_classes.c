/* ane_classes.c -- the class table of ane_classes.h, for every build (the doctor names the
 * classes even where the ANE runtime is not built). */
#include "anethru.h"
#include "ane_classes.h"

#define ANE_CLASS_NAME(id, name, required) [id] = name,
static const char *const names[ANE_NCLASSES] = {ANE_CLASSES(ANE_CLASS_NAME)};
#define ANE_CLASS_REQUIRED(id, name, required) [id] = required,
static const int required[ANE_NCLASSES] = {ANE_CLASSES(ANE_CLASS_REQUIRED)};

int anethru_ane_class_count(void) { return ANE_NCLASSES; }

const char *anethru_ane_class_name(int index)
{
    return index >= 0 && index < ANE_NCLASSES ? names[index] : NULL;
}

int anethru_ane_class_required(int index)
{
    return index >= 0 && index < ANE_NCLASSES ? required[index] : 0;
}
