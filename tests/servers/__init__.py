"""Real servers for the tests, on loopback: Dovecot (IMAP) and an aiosmtpd sink (SMTP).

They live with the tests, not in the package: the wheel ships no test servers.
"""
