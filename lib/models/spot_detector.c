/* spot_detector.c — placeholder ops table until the SPOT-style model lands:
 * asking for model.kind spot fails with a clear message. */
#include "detector.h"
#include "../util/error.h"

static int spot_define(tal_detector *d)
{
    (void)d;
    return tal_err(TAL_EUNSUP, "model.kind 'spot' is not built yet");
}

const tal_det_ops tal_det_spot_ops = { .name = "spot", .define = spot_define };
