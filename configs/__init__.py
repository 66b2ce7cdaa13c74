"""The shipped config files, installed with the package: ``default.yaml`` (every key, documented), ``demo.yaml``
(the built-in demo clip's camera), the dev sets' camera configs and the training phases' configs.

:data:`stream.config.DEFAULT_CONFIG` and :data:`stream.config.DEMO_CONFIG` point here.
"""
