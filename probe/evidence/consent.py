"""What `probe init` tells a volunteer before making the key: informed consent, in plain words.

Modelled on what OONI Probe asks its users to understand. Kept apart from the CLI so tests can
check the text itself (the same words are printed with or without --yes).
"""

CONSENT = """\
Before you run this probe, please read this.

What the probe does
  It tries to reach a list of websites from your internet connection, the way a browser would,
  and records what happens: whether the name was found, whether a connection was made, whether
  a secure connection worked, and what page came back. It compares that with the same attempt
  made from outside your country.

What others may see
  - Your internet provider, and anyone who watches your connection (in some countries, the
    government), can see that this computer is connecting to the websites on the list. Some of
    them may be sensitive or forbidden where you are. In some countries that can be risky: running
    a censorship probe may itself draw attention, or break a local law.
  - The probe looks like ordinary web browsing, but it is not hidden. It does not use Tor or a VPN.

What the results contain, and what they do not
  - Results name your network (its operator and number, e.g. "AS9198 JSC Kazakhtelecom") and
    country, and the time of each test.
  - Results never contain your internet (IP) address: it is removed before anything is stored,
    and checked again before anything is exported.
  - Results stay on this computer until you choose to export and share them.

Your choice
  - You can stop the probe at any time (Ctrl-C, or stop its service); what was measured is kept.
  - You can delete the results folder and the key whenever you want.

Next, the probe makes its signing key. Measurements are signed with it so that anyone can check
later that they were not changed. Keep the key file private; publish only its fingerprint.
"""

QUESTION = "Do you understand this and want to set up the probe?"
