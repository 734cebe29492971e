/* What a firmware image tells the protocol about itself: model, front end and board.
 * The harness (src/main.c in a generated project) fills one of these and calls tg_protocol_run(). */
#ifndef TG_APP_H
#define TG_APP_H

#include <stdint.h>

typedef int (*tg_invoke_fn)(const int8_t *input, int8_t *output);
typedef int (*tg_features_fn)(const int16_t *samples, int8_t *features);

typedef struct {
    const char *board;              /* board id, e.g. "stm32h7" */
    const char *build_flags;        /* short human-readable build description */
    const uint8_t *model_sha256;    /* 32 bytes: SHA-256 of the .tflite file */
    uint32_t input_bytes;           /* network input, int8 */
    uint32_t output_bytes;          /* network output, int8 */
    uint32_t arena_bytes;
    float input_scale;  int32_t input_zero_point;
    float output_scale; int32_t output_zero_point;
    tg_invoke_fn invoke;
    uint32_t raw_samples;           /* samples per window for the FFT front end; 0 if none */
    tg_features_fn features;        /* raw int16 samples -> int8 network input; NULL if none */
} tg_app_t;

/* Serve the serial protocol forever (owned by the validation work: firmware/harness/tg_protocol.c). */
void tg_protocol_run(const tg_app_t *app);

#endif
