/* What a firmware image tells the protocol about itself: the model's tensors, its front end, the
 * board it was built for. The harness (src/main.c in a generated project) fills one of these and
 * calls tg_protocol_run(). */
#ifndef TG_APP_H
#define TG_APP_H

#include <stdint.h>

/* Element types on the wire: TFLite's TensorType codes (tinygen/wire.py DTYPES). */
enum tg_dtype {
    TG_DTYPE_FLOAT32 = 0,
    TG_DTYPE_INT32 = 2,
    TG_DTYPE_UINT8 = 3,
    TG_DTYPE_INT64 = 4,
    TG_DTYPE_INT16 = 7,
    TG_DTYPE_INT8 = 9
};

/* One model input or output, as INFO describes it to the host. */
typedef struct {
    uint8_t dtype;                  /* enum tg_dtype */
    uint8_t elem_bytes;             /* bytes per element */
    uint32_t count;                 /* elements */
    float scale;                    /* real = scale * (q - zero_point); 0 for float tensors */
    int32_t zero_point;
} tg_tensor_t;

/* Run the model on n_inputs input buffers, writing n_outputs output buffers (each aligned to
 * TG_TENSOR_ALIGN, in model order). Returns 0 on success. */
typedef int (*tg_invoke_fn)(const void *const *inputs, void *const *outputs);
/* Restore the model's recurrent state to its start; NULL for a model without state. */
typedef void (*tg_reset_fn)(void);
/* Raw int16 samples -> the int8 input of a single-input model; NULL if the firmware has none. */
typedef int (*tg_features_fn)(const int16_t *samples, int8_t *features);

/* The field-ready layer's hooks (firmware/harness/tg_field.h). */
struct tg_field_hooks;

typedef struct {
    const char *board;              /* board id the firmware was built for, e.g. "stm32h7" */
    const char *twin;               /* emulated twin's id ("mps2-an500"), "" on hardware */
    const char *build_flags;        /* short human-readable build description */
    const uint8_t *model_sha256;    /* 32 bytes: SHA-256 of the .tflite file */
    uint32_t arena_bytes;
    uint8_t n_inputs;
    uint8_t n_outputs;
    const tg_tensor_t *inputs;
    const tg_tensor_t *outputs;
    tg_invoke_fn invoke;
    tg_reset_fn reset;              /* called before every inference: each one is independent */
    uint32_t raw_samples;           /* samples per window of the FFT front end; 0 if none */
    tg_features_fn features;
    /* Integrity, watchdog and safe mode, drift statistics (tg_field.c): NULL in a firmware built
     * without them, and in test fixtures. */
    const struct tg_field_hooks *field;
} tg_app_t;

/* Serve the serial protocol forever (firmware/harness/tg_protocol.c). */
void tg_protocol_run(const tg_app_t *app);

#endif
