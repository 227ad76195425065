"""The Active Directory cache (SPEC section 4). Pure; the Twisted reload lives in reloader.py."""
from rccserver.directory.cache import CacheDiff, DirectoryCache, DirectoryError, DirectoryUser, SkippedEntry, diff

__all__ = ["CacheDiff", "DirectoryCache", "DirectoryError", "DirectoryUser", "SkippedEntry", "diff"]
