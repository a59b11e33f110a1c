"""fastText classifiers for curation (quality, toxicity): data loading, training, evaluation, prediction."""
