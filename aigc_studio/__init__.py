"""AIGC Studio: train and explore generative image models on your own machine."""

__version__ = "0.1.0"
