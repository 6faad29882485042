"""The cabinet's HTML: the page Telegram opens, and the user's part it fetches.

Everything is served by us, inline (no CDN, no Telegram script). The page reads Telegram's
launch data from its URL fragment (``#tgWebAppData=...``, where Telegram puts it) and
sends it with each call as ``Authorization: tma <initData>``; the server answers the
user's part as HTML in their language. The renew buttons ask for a payment and go where
it is paid: a YooKassa page, or a Stars invoice, opened through Telegram's web app
bridge when there is one. Every value shown is escaped.
"""

from __future__ import annotations

import base64
from html import escape

from services.bot.cabinet.handlers import CabinetView
from services.bot.domain.cabinet import Access
from services.bot.domain.display import date, days_left
from services.bot.domain.images import qr_png
from services.bot.keyboards.buy import duration
from services.bot.locales import Speaker

STYLE = """
:root { color-scheme: light dark; --accent: #2e7de6; --muted: #6b7280; --card: #8881; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 34rem; margin: 0 auto; padding: 1rem; }
section { background: var(--card); border-radius: 14px; padding: 1rem; margin: 0 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 0 0 .6rem; }
p { margin: .3rem 0; } .muted { color: var(--muted); }
.status { border-left: 6px solid #16a34a; } .status.ends_soon { border-color: #f59e0b; }
.status.ended, .status.none { border-color: #dc2626; }
.link { margin: .6rem 0; } .link b { display: block; }
code { display: block; overflow-wrap: anywhere; font-size: .8rem; padding: .4rem;
       background: #8882; border-radius: 8px; margin: .2rem 0; }
button { font: inherit; border: 0; border-radius: 10px; padding: .6rem .9rem; margin: .2rem 0;
         background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #8884; color: inherit; padding: .3rem .7rem; }
button.stars { background: #f5a623; }
.plan { display: flex; gap: .5rem; flex-wrap: wrap; } .plan button { flex: 1; }
img.qr { display: block; width: 12rem; height: 12rem; margin: .5rem auto;
         image-rendering: pixelated; background: #fff; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; }
td { padding: .3rem 0; border-bottom: 1px solid #8883; } td.amount { text-align: right; }
.figures { display: flex; gap: 1rem; } .figures div { flex: 1; }
.figures strong { display: block; font-size: 1.5rem; }
#notice:empty { display: none; }
"""

SCRIPT = r"""
(function () {
  var launch = new URLSearchParams(location.hash.slice(1));
  var app = window.Telegram && window.Telegram.WebApp;
  var initData = (app && app.initData) || launch.get("tgWebAppData") || "";
  var main = document.getElementById("cabinet");
  var auth = { Authorization: "tma " + initData };
  var base = location.pathname.replace(/\/$/, "") + "/";
  // Telegram's web app bridge: the app's host opens links and invoices.
  function tell(event, data) {
    if (window.TelegramWebviewProxy) {
      window.TelegramWebviewProxy.postEvent(event, JSON.stringify(data));
      return true;
    }
    if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType: event, eventData: data }), "*");
      return true;
    }
    return false;
  }
  function notice(text) { document.getElementById("notice").textContent = text; }
  function renew(button) {
    button.disabled = true;
    notice(main.dataset.opening);
    fetch(base + "renew", {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" }, auth),
      body: JSON.stringify({ plan: button.dataset.plan, method: button.dataset.renew })
    }).then(function (answer) {
      if (!answer.ok) { throw new Error(answer.status); }
      return answer.json();
    }).then(function (started) {
      if (started.method === "stars") {
        var slug = started.url.split("$")[1];
        if (!tell("web_app_open_invoice", { slug: slug })) {
          notice(main.dataset.payInTelegram.replace("{link}", started.url));
        }
      } else if (!tell("web_app_open_link", { url: started.url })) {
        location.href = started.url;
      }
    }).catch(function () { notice(main.dataset.failed); })
      .finally(function () { button.disabled = false; });
  }
  function wire() {
    main.querySelectorAll("[data-renew]").forEach(function (button) {
      button.addEventListener("click", function () { renew(button); });
    });
    main.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.dataset.copy).then(function () {
          button.textContent = main.dataset.copied;
        });
      });
    });
  }
  fetch(base + "view", { headers: auth }).then(function (answer) {
    return answer.text().then(function (html) {
      main.innerHTML = html;
      main.dataset.state = answer.ok ? "ready" : "refused";
      var root = main.querySelector("[data-texts]");
      if (root) { Object.assign(main.dataset, root.dataset); }
      wire();
      tell("web_app_ready", {});
    });
  });
})();
"""


def shell(title: str) -> str:
    """The page Telegram opens; the user's part comes from ``view``."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        '<body><main id="cabinet" data-state="loading"><p class="muted">…</p></main>'
        f"<script>{SCRIPT}</script></body></html>"
    )


def refused(language: str, key: str) -> str:
    """What a refused or failed view shows instead of the user's part."""
    return f'<section class="status none" id="refused"><p>{escape(Speaker(language).t(key))}</p></section>'


def cabinet(found: CabinetView) -> str:
    """The user's part: status, keys, renewal, payments, referrals."""
    speaker = Speaker(found.language)
    texts = {
        "copied": speaker.t("cabinet_copied"),
        "opening": speaker.t("cabinet_opening_payment"),
        "failed": speaker.t("cabinet_renew_failed"),
        "pay-in-telegram": speaker.t("cabinet_pay_in_telegram", link="{link}"),
    }
    data = " ".join(f'data-{name}="{escape(value)}"' for name, value in texts.items())
    return "".join(
        (
            f'<div data-texts {data} lang="{escape(found.language)}">',
            _status(speaker, found),
            '<p id="notice" class="muted" role="status"></p>',
            _keys(speaker, found),
            _renewal(speaker, found),
            _payments(speaker, found),
            _referrals(speaker, found),
            "</div>",
        )
    )


def _status(speaker: Speaker, found: CabinetView) -> str:
    state = found.access
    heading = speaker.t(f"cabinet_status_{state.value}")
    if found.until is None:
        detail = speaker.t("cabinet_none_hint")
    elif state is Access.ENDED:
        detail = speaker.t("cabinet_ended_on", until=date(found.until))
    else:
        left = days_left(found.until, found.now)
        days = speaker.t("days_left_1") if left == 1 else speaker.t("days_left_n", n=left)
        detail = speaker.t("cabinet_until", until=date(found.until), days_left=days)
    until = f' data-until="{found.until.isoformat()}"' if found.until else ""
    return (
        f'<section id="status" class="status {state.value}" data-access="{state.value}"{until}>'
        f"<h1>{escape(heading)}</h1><p>{escape(detail)}</p>"
        f'<p class="muted">ID {found.telegram_id}</p></section>'
    )


def _copyable(speaker: Speaker, label: str, value: str, css: str) -> str:
    return (
        f'<div class="link {css}"><b>{escape(label)}</b><code>{escape(value)}</code>'
        f'<button class="secondary" data-copy="{escape(value)}">'
        f"{escape(speaker.t('cabinet_copy'))}</button></div>"
    )


def _keys(speaker: Speaker, found: CabinetView) -> str:
    heading = f"<h2>{escape(speaker.t('cabinet_keys'))}</h2>"
    if found.links is None or not found.links.links:
        return (
            f'<section id="keys">{heading}<p>{escape(speaker.t("cabinet_no_keys"))}</p></section>'
        )
    url = found.links.subscription_url
    qr = base64.b64encode(qr_png(url)).decode()
    parts = [
        heading,
        f'<img class="qr" alt="{escape(speaker.t("cabinet_qr"))}" src="data:image/png;base64,{qr}">',
        _copyable(speaker, speaker.t("cabinet_subscription"), url, "subscription"),
    ]
    for country, link in found.links.ordered(found.region):
        parts.append(_copyable(speaker, country.capitalize(), link, f"country {country}"))
    return f'<section id="keys">{"".join(parts)}</section>'


def _renewal(speaker: Speaker, found: CabinetView) -> str:
    rows = []
    for name, plan in found.plans.items():
        label = speaker.t(
            "plan_label",
            duration=duration(speaker, plan),
            price=plan.price,
            currency=plan.currency,
        )
        buttons = [
            f'<button data-renew="yookassa" data-plan="{escape(name)}">{escape(label)}</button>'
        ]
        if plan.stars is not None:
            stars = speaker.t("button_stars", stars=plan.stars)
            buttons.append(
                f'<button class="stars" data-renew="stars" data-plan="{escape(name)}">'
                f"{escape(stars)}</button>"
            )
        rows.append(f'<div class="plan">{"".join(buttons)}</div>')
    heading = f"<h2>{escape(speaker.t('cabinet_renew'))}</h2>"
    return f'<section id="renew">{heading}{"".join(rows)}</section>'


def _payments(speaker: Speaker, found: CabinetView) -> str:
    heading = f"<h2>{escape(speaker.t('cabinet_payments'))}</h2>"
    if not found.payments:
        return f'<section id="payments">{heading}<p class="muted">{escape(speaker.t("cabinet_no_payments"))}</p></section>'
    rows = []
    for payment in found.payments:
        refunded = payment.refunded > 0
        status = "refunded" if refunded else payment.status
        known = status in {"credited", "held", "gift", "refunded"}
        said = speaker.t(f"cabinet_payment_{status}") if known else status
        when = date(payment.paid_at) if payment.paid_at else ""
        plan = found.plans.get(payment.plan or "")
        what = duration(speaker, plan) if plan is not None else (payment.plan or "")
        rows.append(
            f'<tr data-payment="{escape(payment.payment_id)}"><td>{escape(when)}</td>'
            f"<td>{escape(what)}</td><td>{escape(said)}</td>"
            f'<td class="amount">{escape(str(payment.amount))} {escape(payment.currency)}</td></tr>'
        )
    return f'<section id="payments">{heading}<table>{"".join(rows)}</table></section>'


def _referrals(speaker: Speaker, found: CabinetView) -> str:
    earned = found.referrals
    return (
        f'<section id="referrals"><h2>{escape(speaker.t("cabinet_referrals"))}</h2>'
        f'<p class="muted">{escape(speaker.t("cabinet_referral_hint"))}</p>'
        + _copyable(speaker, "", found.referral_link, "referral")
        + '<div class="figures">'
        f'<div><strong id="invited">{earned.invited}</strong>'
        f"{escape(speaker.t('cabinet_invited'))}</div>"
        f'<div><strong id="bonus-days">{earned.bonus_days}</strong>'
        f"{escape(speaker.t('cabinet_bonus_days'))}</div></div></section>"
    )
