"""Fitting: plain cross-entropy, or Hinton distillation (soft teacher targets at temperature T
mixed with the hard labels by alpha)."""
from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = z / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def distillation_loss(keras, n_classes: int, temperature: float, alpha: float):
    """y_true = [one-hot | teacher probabilities at T]; y_pred = student logits.
    alpha * CE(labels, softmax(s)) + (1 - alpha) * T^2 * CE(teacher_T, softmax(s / T))."""
    ops = keras.ops

    def loss(y_true, y_pred):
        hard, soft = y_true[:, :n_classes], y_true[:, n_classes:]
        ce_hard = -ops.sum(hard * ops.log_softmax(y_pred, axis=-1), axis=-1)
        ce_soft = -ops.sum(soft * ops.log_softmax(y_pred / temperature, axis=-1), axis=-1)
        return alpha * ce_hard + (1.0 - alpha) * temperature ** 2 * ce_soft

    return loss


def fit(keras, model, x, y, x_val, y_val, epochs: int, batch_size: int, lr: float,
        soft_targets=None, temperature: float = 4.0, alpha: float = 0.3, bar=None):
    """Train `model` (logits) in place; keep the weights of the best validation epoch.
    Returns (best validation accuracy, learning curve {"loss": [...], "val_accuracy": [...]}).
    `bar` (a progress bar) advances once per epoch."""
    n_classes = model.output_shape[-1]
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    if soft_targets is None:
        target, loss = onehot, keras.losses.CategoricalCrossentropy(from_logits=True)
    else:
        target = np.concatenate([onehot, soft_targets.astype(np.float32)], axis=1)
        loss = distillation_loss(keras, n_classes, temperature, alpha)
    schedule = keras.optimizers.schedules.CosineDecay(lr, epochs * int(np.ceil(len(x) / batch_size)))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    best = BestOnValidation(keras, x_val, y_val, bar)
    model.fit(x, target, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
              callbacks=[best])
    model.set_weights(best.best_weights)
    return best.best_accuracy, best.curve


def accuracy(model, x, y) -> float:
    return float((predict_logits(model, x).argmax(axis=1) == y).mean())


def predict_logits(model, x, batch_size: int = 256) -> np.ndarray:
    outs = [np.asarray(model(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs)




def BestOnValidation(keras, x_val, y_val, bar=None):  # noqa: N802 (a factory that reads like a class)
    class _Best(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best_accuracy, self.best_weights = -1.0, None
            self.curve = {"loss": [], "val_accuracy": []}

        def on_epoch_end(self, epoch, logs=None):
            acc = accuracy(self.model, x_val, y_val)
            self.curve["loss"].append(round(float((logs or {}).get("loss", float("nan"))), 5))
            self.curve["val_accuracy"].append(round(acc, 5))
            if acc > self.best_accuracy:   # ties keep the earlier epoch
                self.best_accuracy, self.best_weights = acc, self.model.get_weights()
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"val {100 * acc:.1f} %")

    return _Best()
