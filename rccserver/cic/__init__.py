"""CIC users, stations and feature licences (SPEC section 5)."""
from rccserver.cic.data import LYNC_FEATURE, CicData, CicDataError, CicUser, Station, load_cic_data

__all__ = ["LYNC_FEATURE", "CicData", "CicDataError", "CicUser", "Station", "load_cic_data"]
