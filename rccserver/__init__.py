"""rccserver: a Remote Call Control (uaCSTA) server for Lync / Skype for Business."""

__version__ = "0.1.0"
