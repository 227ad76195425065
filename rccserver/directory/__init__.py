"""The Active Directory cache (SPEC section 4)."""
from rccserver.directory.cache import CacheDiff, DirectoryCache, DirectoryError, DirectoryUser

__all__ = ["CacheDiff", "DirectoryCache", "DirectoryError", "DirectoryUser"]
