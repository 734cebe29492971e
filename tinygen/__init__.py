"""tinygen: int8 neural networks to dependency-free microcontroller C, validated on the device."""

__version__ = "0.1.0"
