"""Exchange with other tools: importing and exporting question banks as Moodle GIFT, Moodle XML,
IMS QTI 2.1/3.0 and Canvas QTI 1.2 (see docs/exchange.md)."""
