"""Teacher, student, distillation and int8 conversion. TensorFlow is imported only inside train()."""
