"""What was said, by whom (pseudonymously) and under what consent.

Storage, redaction, import and export of testimonies and proposals. This
package depends on neither ``analysis`` nor ``bot``.
"""
