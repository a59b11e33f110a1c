"""PII detection (Presidio's recognizers run in batch, optional spaCy NER), scrubbing and evaluation."""
