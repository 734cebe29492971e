/* Integer LSTM (see tg_lstm.h). */
#include "tg_lstm.h"

/* sigmoid(i / 24) in 0.16 fixed point, i = 0..255: TFLite's sigmoid_table_uint16 (the one table
 * behind its int16 LOGISTIC and TANH: tanh(x) = 2 * sigmoid(2x) - 1). */
static const uint16_t tg_sigmoid_u16[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535
};

static int32_t tg_scale_in(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t round = shift > 0 ? (1 << (shift - 1)) : 0;
    return (x * mult + round) >> shift;
}

int16_t tg_sigmoid16(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t v = tg_scale_in(x, mult, shift);
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 9;
    uint32_t r;
    if (uh >= 255) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t ua = tg_sigmoid_u16[uh], ub = tg_sigmoid_u16[uh + 1];
        r = (ua << 9) + (a & 0x1FFu) * (ub - ua);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << (16 + 9)) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

int16_t tg_tanh16(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t v = tg_scale_in(x, mult, shift);
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 8;
    int32_t r;
    if (uh >= 255) {
        r = 0xFFFF << 8;
    } else {
        const uint32_t ua = tg_sigmoid_u16[uh], ub = tg_sigmoid_u16[uh + 1];
        r = (int32_t)((ua << 8) + (a & 0xFFu) * (ub - ua));
    }
    r = v >= 0 ? r - (1 << (14 + 9)) + (1 << (9 - 2)) : -r + (1 << (14 + 9)) + (1 << (9 - 2)) - 1;
    return (int16_t)(r >> (9 - 1));
}

static int16_t tg_sat16(int32_t v)
{
    return (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
}

/* dst[b][j] = sat16(MBQM(bias[j] + sum_k w[j][k] * x[b][k])): the int8 -> int16 FC. */
static void tg_lstm_fc(const tg_lstm_fc_t *f, const int8_t *x, int32_t nb, int32_t n,
                       int32_t n_cell, int16_t *dst)
{
    int32_t b, j, k;
    for (b = 0; b < nb; ++b, x += n) {
        const int8_t *w = f->weights;
        for (j = 0; j < n_cell; ++j, w += n) {
            int32_t acc = f->bias[j];
            for (k = 0; k < n; ++k) {
                acc += (int32_t)w[k] * x[k];
            }
            *dst++ = tg_sat16(tg_requantize(acc, f->mult, f->shift));
        }
    }
}

static void tg_lstm_gate(const tg_lstm_params_t *p, int32_t g, const int8_t *x, const int8_t *h,
                         int32_t nb, int16_t *dst, int16_t *tmp)
{
    const int32_t n = nb * p->n_cell;
    const int32_t sigmoid = g != TG_LSTM_CELL || p->cell_gate_sigmoid;
    int32_t j;
    tg_lstm_fc(&p->in[g], x, nb, p->n_in, p->n_cell, dst);
    tg_lstm_fc(&p->rec[g], h, nb, p->n_cell, p->n_cell, tmp);
    for (j = 0; j < n; ++j) {
        const int32_t s = tg_sat16((int32_t)dst[j] + tmp[j]);
        /* gate pre-activations are Q3.12: sigmoid's and tanh's power-of-two scaling is x3 */
        dst[j] = sigmoid ? tg_sigmoid16(s, 3, 0) : tg_tanh16(s, 3, 0);
    }
}

/* One time step over nb batch rows (all of them when time-major, else one). */
static void tg_lstm_step(const tg_lstm_params_t *p, const int8_t *x, int8_t *h, int16_t *c,
                         int32_t nb, int16_t *buf)
{
    const int32_t n = nb * p->n_cell;
    int16_t *f = buf, *i = buf + n, *g = buf + 2 * n, *tmp = buf + 3 * n;
    int32_t j;
    tg_lstm_gate(p, TG_LSTM_FORGET, x, h, nb, f, tmp);
    tg_lstm_gate(p, TG_LSTM_INPUT, x, h, nb, i, tmp);
    tg_lstm_gate(p, TG_LSTM_CELL, x, h, nb, g, tmp);
    for (j = 0; j < n; ++j) {
        const int32_t fc = tg_sat16(tg_requantize((int32_t)f[j] * c[j], p->fc_mult, p->fc_shift));
        const int32_t ig = tg_sat16(tg_requantize((int32_t)i[j] * g[j], p->ig_mult, p->ig_shift));
        int32_t v = tg_sat16(fc + ig);
        if (p->cell_clip > 0) {
            v = v > p->cell_clip ? p->cell_clip : (v < -p->cell_clip ? -p->cell_clip : v);
        }
        c[j] = (int16_t)v;
    }
    tg_lstm_gate(p, TG_LSTM_OUTPUT, x, h, nb, i, tmp);   /* i now holds the output gate */
    for (j = 0; j < n; ++j) {
        const int32_t t = tg_tanh16(c[j], p->tanh_mult, p->tanh_shift);
        const int32_t v = tg_requantize(t * i[j], p->oh_mult, p->oh_shift) + p->hidden_zp;
        h[j] = tg_clamp_s8(v, -128, 127);
    }
}

int tg_lstm_s8(const tg_lstm_params_t *p, const int8_t *in, int8_t *hidden, int16_t *cell,
               int8_t *out, int16_t *scratch)
{
    int32_t b, t;
    if (p->time_major) {
        const int32_t n = p->batches * p->n_cell;
        for (t = 0; t < p->steps; ++t) {
            tg_lstm_step(p, in + t * p->batches * p->n_in, hidden, cell, p->batches, scratch);
            tg_copy_bytes(out + t * n, hidden, (size_t)n);
        }
        return TG_OK;
    }
    for (b = 0; b < p->batches; ++b) {
        int8_t *h = hidden + b * p->n_cell;
        int16_t *c = cell + b * p->n_cell;
        for (t = 0; t < p->steps; ++t) {
            const int32_t row = b * p->steps + t;
            tg_lstm_step(p, in + row * p->n_in, h, c, 1, scratch);
            tg_copy_bytes(out + row * p->n_cell, h, (size_t)p->n_cell);
        }
    }
    return TG_OK;
}
