/* ane_forms.h -- the program forms the ANE backend tries, in order (pure C, built everywhere).
 *
 * A form is a MIL dialect plus a way of laying out the weights.  Order, most proven first:
 *   1 layer:   "ios16", "ios18"            one file, @model_path/weights/weight.bin
 *   N layers:  "ios16-files", "ios16-onefile", "ios18-files", "ios18-onefile"
 *              -files:   one file per layer, @model_path/weights/w<i>.bin, each the 1-layer
 *                        file of that layer (its BLOBFILE at offset 64): the multi-weight form
 *                        whose output research code checked on a Mac
 *              -onefile: @model_path/weights/weight.bin holding N blobs, one BLOBFILE offset
 *                        per layer: the form research only timed
 * The public interface (anethru_ane_program and friends) is declared in anethru.h, so that
 * anethru.ane_programs() shows on any OS exactly what the backend compiles.
 */
#ifndef ANETHRU_ANE_FORMS_H
#define ANETHRU_ANE_FORMS_H

#include "anethru.h"

/* Where the framework's compiler expects the files, relative to the model directory:
 * the MIL path without its "@model_path/" prefix (e.g. "weights/w0.bin"). */
const char *ane_form_relative_path(const char *mil_path);

#endif
