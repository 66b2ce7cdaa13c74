"""Training the networks: their definition, training loops, export, quantisation and averaging."""
