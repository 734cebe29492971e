/* See tg_act16.h. */
#include "tg_act16.h"

TG_INLINE int32_t a16_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

int tg_relu_s16(const tg_act16_params_t *p, const int16_t *in, int16_t *out)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t v = p->out_zp + tg_requantize(in[i] - p->in_zp, p->mult_pos, p->shift_pos);
        out[i] = (int16_t)a16_clamp(v, p->lo, p->hi);
    }
    return TG_OK;
}

int tg_leaky_relu_s16(const tg_act16_params_t *p, const int16_t *in, int16_t *out)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = in[i] - p->in_zp;
        const int32_t v = p->out_zp + (x >= 0 ? tg_requantize(x, p->mult_pos, p->shift_pos)
                                              : tg_requantize(x, p->mult_neg, p->shift_neg));
        out[i] = (int16_t)a16_clamp(v, p->lo, p->hi);
    }
    return TG_OK;
}

int tg_clamp_s16(const tg_act16_params_t *p, const int16_t *in, int16_t *out)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        out[i] = (int16_t)a16_clamp(in[i], p->lo, p->hi);
    }
    return TG_OK;
}

/* TFLite-Micro's sigmoid_table_uint16: sigmoid(i / 24) in 0.16 fixed point, the values its
 * int16 LOGISTIC and TANH interpolate (tensorflow/lite/kernels/internal/common.h). */
static const uint16_t tg_sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535,
};

/* The input rescaled as Logistic/Tanh do: multiplier 0 means a power-of-two scale (3 << shift). */
TG_INLINE int32_t s16_rescale(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t round = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
    return (x * mult + round) >> shift;
}

TG_INLINE void s16_input_scale(const tg_sigmoid16_params_t *p, int32_t *mult, int32_t *shift)
{
    *mult = p->input_multiplier;
    *shift = p->input_left_shift;
    if (*mult == 0) {
        *mult = 3 << *shift;
        *shift = 0;
    }
}

/* The sigmoid table at |x| with `frac` fractional bits per entry, linearly interpolated; `sat`
 * beyond the table. Unsigned arithmetic: it wraps like the reference's. */
TG_INLINE uint32_t s16_lerp(uint32_t ax, uint32_t frac, uint32_t sat)
{
    const uint32_t uh = ax >> frac;
    if (uh >= 255) {
        return sat;
    }
    const uint32_t ua = tg_sigmoid_table[uh], ub = tg_sigmoid_table[uh + 1];
    return (ua << frac) + (ax & ((1u << frac) - 1u)) * (ub - ua);
}

int tg_logistic_s16(const tg_sigmoid16_params_t *p, const int16_t *in, int16_t *out)
{
    int32_t mult, shift, i;
    s16_input_scale(p, &mult, &shift);
    for (i = 0; i < p->size; ++i) {
        const int32_t x = s16_rescale(in[i], mult, shift);
        uint32_t result = s16_lerp((uint32_t)(x < 0 ? -x : x), 9, (uint32_t)0x7FFF << 10);
        result = x >= 0 ? result + (1u << 9) : (1u << (16 + 9)) - result + (1u << 9) - 1u;
        out[i] = (int16_t)(result >> 10);
    }
    return TG_OK;
}

int tg_tanh_s16(const tg_sigmoid16_params_t *p, const int16_t *in, int16_t *out)
{
    int32_t mult, shift, i;
    s16_input_scale(p, &mult, &shift);
    for (i = 0; i < p->size; ++i) {
        const int32_t x = s16_rescale(in[i], mult, shift);
        int32_t result = (int32_t)s16_lerp((uint32_t)(x < 0 ? -x : x), 8, 0xFFFFu << 8);
        result = x >= 0 ? result - (1 << (14 + 9)) + (1 << (9 - 2))
                        : -result + (1 << (14 + 9)) + (1 << (9 - 2)) - 1;
        out[i] = (int16_t)(result >> (9 - 1));
    }
    return TG_OK;
}
