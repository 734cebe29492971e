"""FFT front end: the integer numpy reference and the emitter of its C twin."""
from .frontend import FrontEnd, FrontEndConfig, default_front_end
from .emit import emit_c

__all__ = ["FrontEnd", "FrontEndConfig", "default_front_end", "emit_c"]
