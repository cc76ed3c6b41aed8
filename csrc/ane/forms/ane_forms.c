/* ane_forms.c -- see ane_forms.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane_forms.h"
#include "ane_mil.h"
#include "ane_weights.h"

#define MODEL_PATH_PREFIX "@model_path/"

typedef struct {
    const char *name;
    int dialect;
    int file_per_layer;
} form;

static const form single_forms[] = {
    {"ios16", ANE_MIL_IOS16, 0},
    {"ios18", ANE_MIL_IOS18, 0},
};
static const form chained_forms[] = {
    {"ios16-files", ANE_MIL_IOS16, 1},
    {"ios16-onefile", ANE_MIL_IOS16, 0},
    {"ios18-files", ANE_MIL_IOS18, 1},
    {"ios18-onefile", ANE_MIL_IOS18, 0},
};

static const form *form_at(int layers, int index)
{
    if (layers <= 0 || index < 0 || index >= anethru_ane_form_count(layers)) return NULL;
    return layers == 1 ? &single_forms[index] : &chained_forms[index];
}

int anethru_ane_form_count(int layers)
{
    if (layers <= 0) return 0;
    return layers == 1 ? (int)(sizeof single_forms / sizeof single_forms[0])
                       : (int)(sizeof chained_forms / sizeof chained_forms[0]);
}

const char *anethru_ane_form_name(int layers, int index)
{
    const form *f = form_at(layers, index);
    return f ? f->name : NULL;
}

const char *ane_form_relative_path(const char *mil_path)
{
    size_t n = strlen(MODEL_PATH_PREFIX);
    return strncmp(mil_path, MODEL_PATH_PREFIX, n) == 0 ? mil_path + n : mil_path;
}

void anethru_ane_program_free(anethru_ane_program *p)
{
    if (!p) return;
    for (int i = 0; p->files && i < p->nfiles; i++) {
        free(p->files[i].path);
        free(p->files[i].data);
    }
    free(p->files);
    free(p->mil);
    free(p);
}

/* One weight file of nblobs blobs, the first taken from weights. */
static int make_file(anethru_ane_file *f, const char *path, int channels, int nblobs,
                     const uint16_t *weights)
{
    f->size = ane_weights_file_size(channels, nblobs);
    f->path = strdup(path);
    f->data = f->size ? malloc(f->size) : NULL;
    if (!f->path || !f->data) return -1;
    ane_weights_fill(f->data, channels, nblobs, weights);
    return 0;
}

anethru_ane_program *anethru_ane_program_new(int index, int channels, int spatial, int layers,
                                             const uint16_t *weights)
{
    const form *fm = form_at(layers, index);
    if (!fm || channels <= 0 || spatial <= 0 || !weights) return NULL;
    if (ane_weights_file_size(channels, layers) == 0) return NULL;
    anethru_ane_program *p = calloc(1, sizeof *p);
    ane_mil_weight_ref *refs = calloc((size_t)layers, sizeof *refs);
    if (!p || !refs) goto fail;
    p->form = fm->name;
    p->nfiles = fm->file_per_layer ? layers : 1;
    p->files = calloc((size_t)p->nfiles, sizeof *p->files);
    if (!p->files) goto fail;
    size_t per_layer = (size_t)channels * (size_t)channels;
    if (fm->file_per_layer) {
        for (int i = 0; i < layers; i++) {
            char path[64];
            snprintf(path, sizeof path, MODEL_PATH_PREFIX "weights/w%d.bin", i);
            if (make_file(&p->files[i], path, channels, 1, weights + per_layer * (size_t)i)) goto fail;
            refs[i].path = p->files[i].path;
            refs[i].offset = ane_weights_blob_offset(channels, 0);
        }
    } else {
        if (make_file(&p->files[0], MODEL_PATH_PREFIX "weights/weight.bin", channels, layers,
                      weights))
            goto fail;
        for (int i = 0; i < layers; i++) {
            refs[i].path = p->files[0].path;
            refs[i].offset = ane_weights_blob_offset(channels, i);
        }
    }
    p->mil = ane_mil_text(fm->dialect, channels, spatial, layers, refs);
    if (!p->mil) goto fail;
    free(refs);
    return p;
fail:
    free(refs);
    anethru_ane_program_free(p);
    return NULL;
}
