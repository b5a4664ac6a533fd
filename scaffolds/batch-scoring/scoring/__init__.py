"""Batch scoring of biopsies: features, training, and the scheduled scoring job."""
