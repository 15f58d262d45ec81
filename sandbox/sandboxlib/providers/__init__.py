"""One module per provider stand-in; PROVIDERS maps --provider to its class."""

from .bigcommerce import BigCommerce
from .generic import Generic
from .jumpseller import Jumpseller
from .keap import Keap

PROVIDERS = {cls.name: cls for cls in (Jumpseller, BigCommerce, Keap, Generic)}
