/* ane_classes.h -- the private AppleNeuralEngine.framework classes the ANE backend looks up by
 * name, declared once (pure C).  X(id, "name", required): a missing required class means an
 * unsupported macOS; _ANEClient only serves the realtime and direct eval paths. */
#ifndef ANETHRU_ANE_CLASSES_H
#define ANETHRU_ANE_CLASSES_H

#define ANE_CLASSES(X)                                  \
    X(ANE_CLASS_DESCRIPTOR, "_ANEInMemoryModelDescriptor", 1) \
    X(ANE_CLASS_MODEL, "_ANEInMemoryModel", 1)          \
    X(ANE_CLASS_REQUEST, "_ANERequest", 1)              \
    X(ANE_CLASS_SURFACE_OBJECT, "_ANEIOSurfaceObject", 1) \
    X(ANE_CLASS_CLIENT, "_ANEClient", 0)

#define ANE_CLASS_ENUM(id, name, required) id,
enum { ANE_CLASSES(ANE_CLASS_ENUM) ANE_NCLASSES };
#undef ANE_CLASS_ENUM

#endif
