"""Teacher, students, distillation, QAT, pruning, int8 conversion and the report.
TensorFlow is imported only inside train()."""
