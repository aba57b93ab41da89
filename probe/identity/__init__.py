"""Network identity: the probe's ASN, country and network name from an offline IP-to-ASN database.

The probe learns its public address from the control helper, looks it up here once, and drops the
address; only the ASN, country and name are stored. Nothing here goes to the network.
"""

from probe.identity.database import AsnDatabase
from probe.identity.model import UNKNOWN, NetworkIdentity

__all__ = ["AsnDatabase", "NetworkIdentity", "UNKNOWN"]
