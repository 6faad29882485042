"""What Keyland's web pages share: the subscription page (the provisioner's ``/sub/{token}``
opened in a browser) and the Telegram Mini App cabinet.

- :mod:`.html`: markup built by functions that escape every value they are given;
  the page shell and its Content-Security-Policy (nothing loaded from elsewhere);
- :mod:`.qr`: the QR code of a URL as an inline SVG;
- :mod:`.clients`: one-tap import links of a subscription URL for the common VPN apps;
- :mod:`.i18n`: the page's language from ``Accept-Language``, the shared texts
  (``locales/``), dates, sizes;
- :mod:`.copy`: the copy button, the pages' only JavaScript.
"""
