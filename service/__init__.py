"""shapserve's BentoML service: a thin layer over the ``scorers`` engine."""
