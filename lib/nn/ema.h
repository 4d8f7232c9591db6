/* ema.h — an exponential moving average of the parameters (ActionFormer's
 * ModelEma: e = decay * e + (1 - decay) * p after every step, evaluation
 * with the averaged weights). */
#ifndef TAL_NN_EMA_H
#define TAL_NN_EMA_H

#include "nn/params.h"

typedef struct tal_ema tal_ema;

/* Starts as a copy of the current parameters. */
tal_ema *tal_ema_new(tal_params *P, float decay);
void tal_ema_free(tal_ema *e);
void tal_ema_update(tal_ema *e);
/* the averaged values, laid out like tal_params_data (tal_params_size floats) */
float *tal_ema_data(const tal_ema *e);
float tal_ema_decay(const tal_ema *e);
/* Exchange averaged and live values (evaluate with the average, swap back). */
int tal_ema_swap(tal_ema *e);

#endif
