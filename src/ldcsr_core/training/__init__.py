"""Training and evaluation as library code: data, metrics, the training phases, evaluation."""
