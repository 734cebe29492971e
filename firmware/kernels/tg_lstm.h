/* UNIDIRECTIONAL_SEQUENCE_LSTM, integer (int8 input and hidden state, int8 weights, int32 bias,
 * int16 cell state), as TFLite-Micro's LSTM kernel (lstm_eval.h, lstm_eval_common.cc) computes it:
 * per time step, for the forget, input, cell and output gates
 *   gate = act(sat16(FC(x)) +sat sat16(FC(h)))       FC: int8 -> int16 at scale 2^-12
 * with act the int16 LUT sigmoid (tanh or sigmoid for the cell gate), then
 *   c = sat(c * f) +sat sat(i * g), clipped;  h = (tanh(c) * o) requantised to int8;  out[t] = h.
 * Every multiplier, shift and folded bias is computed offline (tinygen/ops/lstm.py); the four
 * gate buffers live in the op's arena scratch (no stack frames), the states in the state area. */
#ifndef TG_LSTM_H
#define TG_LSTM_H

#include "tg_runtime.h"

#define TG_LSTM_FORGET 0
#define TG_LSTM_INPUT 1
#define TG_LSTM_CELL 2
#define TG_LSTM_OUTPUT 3

typedef struct {
    const int8_t *weights;    /* [n_cell][n] */
    const int32_t *bias;      /* [n_cell]: bias - zero_point * row sum (exact, offline) */
    int32_t mult, shift;      /* MultiplyByQuantizedMultiplier to the gate's 2^-12 scale */
} tg_lstm_fc_t;

typedef struct {
    int32_t steps, batches, n_in, n_cell, time_major;
    tg_lstm_fc_t in[4], rec[4];              /* gates in the order of TG_LSTM_* */
    int32_t cell_gate_sigmoid;              /* 1: the cell gate uses sigmoid, 0: tanh */
    int32_t fc_mult, fc_shift;              /* forget x cell -> cell */
    int32_t ig_mult, ig_shift;              /* input x cell gate -> cell */
    int32_t oh_mult, oh_shift, hidden_zp;   /* tanh(cell) x output -> hidden (int8) */
    int32_t tanh_mult, tanh_shift;          /* tanh(cell)'s input scaling (cell scale 2^p) */
    int32_t cell_clip;                      /* quantized cell clip, 0: none */
} tg_lstm_params_t;

/* TFLite's reference_integer_ops::Logistic / Tanh on int16 (input_multiplier, left shift as
 * resolved for the power-of-two case: x * mult, or (x * mult + round) >> shift). */
int16_t tg_sigmoid16(int32_t x, int32_t mult, int32_t shift);
int16_t tg_tanh16(int32_t x, int32_t mult, int32_t shift);

/* scratch: 4 * (time_major ? batches : 1) * n_cell int16 values. */
int tg_lstm_s8(const tg_lstm_params_t *p, const int8_t *in, int8_t *hidden, int16_t *cell,
               int8_t *out, int16_t *scratch);

#endif
