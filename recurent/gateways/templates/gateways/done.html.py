BBBBBBB BBBBBBBBBBBBBBBBBBBBBB BBBB BBB
BBBBB BBBBB gettext(u'Invoice %(number)s') SSSSSSS SSSSSSSSSSBBBBBBBB
BBBBB BBBBBBB
XXXXXXXX XXXXXXXXXXXX XXXXXXXXXX
  BB BBBB
    XX XXXXXXXXXXXXX gettext(u'Thank you! The payment is being confirmed by the payment processor; the invoice shows as paid as soon as it is.') XXXX
    XXXXX XXXXXXBBB BBBBBBBBBBBBBB BBBBBXX gettext(u'Back to the invoice') XXXXXXXX
  BBBBXX XXXXXXXXXXXX XXXXXXXXXX gettext(u'Invoice %(number)s is paid. Thank you!') SSSSSSS SSSSSSSSSS SS SSSSS SSSSS SSSSXXXXBBBBB
XXXXXXXXXX
BBBBBBBB
