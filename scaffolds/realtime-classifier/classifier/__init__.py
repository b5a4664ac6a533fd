"""Wine-cultivar classifier: features, training and the scoring service."""
