"""The cabinet's HTML: the page Telegram opens, and the user's part it fetches.

Built with the web pages' shared parts (``keyland.web``: escaped markup, the inline QR
code, the import links and the copy button, the shared texts and dates). Everything is
served by us, inline: no CDN, no Telegram script. The page reads Telegram's launch data
from its URL fragment (``#tgWebAppData=...``, where Telegram puts it) and sends it with
each call as ``Authorization: tma <initData>``; the server answers the user's part in
their language. A renew button asks for a payment and goes where it is paid: a YooKassa
page, or a Stars invoice, through Telegram's web app bridge when there is one.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from keyland.web.clients import import_links
from keyland.web.copy import COPY_SCRIPT, copy_button
from keyland.web.html import Html, document, element, join
from keyland.web.i18n import local_moment, web_texts
from keyland.web.qr import qr_image
from keyland.web.standing import Standing
from services.bot.cabinet.handlers import CabinetView
from services.bot.domain.display import days_left
from services.bot.keyboards.buy import duration
from services.bot.locales import Speaker

STYLE = """
:root { color-scheme: light dark; --accent: #2e7de6; --muted: #8a8f98; --card: #8881; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 32rem; margin: 0 auto; padding: 1rem; }
section { background: var(--card); border-radius: 14px; padding: 1rem; margin: 0 0 1rem; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 0 0 .6rem; }
p { margin: .3rem 0; } .muted, .hint { color: var(--muted); font-size: .9rem; }
.status { display: inline-block; padding: .2rem .7rem; border-radius: 1rem; font-weight: 600; }
.status.active { background: #d7f5dd; color: #145a26; }
.status.ends_soon { background: #fff0c2; color: #6b4d00; }
.status.ended, .status.never, .status.suspended { background: #ffd9d6; color: #7a1610; }
code { display: block; overflow-wrap: anywhere; font-size: .8rem; margin: .2rem 0; }
.apps { list-style: none; padding: 0; display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; }
.button, button.renew { display: block; width: 100%; text-align: center; padding: .6rem;
  border: 0; border-radius: .6rem; background: var(--accent); color: #fff; font: inherit;
  font-weight: 600; text-decoration: none; }
button.renew.stars { background: #f5a623; }
.plan { display: grid; grid-template-columns: 2fr 1fr; gap: .5rem; margin: .4rem 0; }
.plan.yookassa-only { grid-template-columns: 1fr; }
button.copy { width: 100%; padding: .5rem; font: inherit; font-weight: 600; margin: .2rem 0 .6rem;
  border-radius: .6rem; border: 2px solid var(--accent); background: none; color: var(--accent); }
.qr { display: block; margin: .5rem auto; background: #fff; padding: .5rem; border-radius: .5rem; }
.country b { display: block; margin-top: .4rem; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; }
td { padding: .3rem .2rem; border-bottom: 1px solid #8883; } td.amount { text-align: right; }
.figures { display: flex; gap: 1rem; } .figures div { flex: 1; }
.figures strong { display: block; font-size: 1.5rem; }
#notice:empty { display: none; }
"""

SCRIPT = (
    r"""
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
  function texts() { return main.querySelector("[data-opening]").dataset; }
  function notice(text) { document.getElementById("notice").textContent = text; }
  function renew(button) {
    button.disabled = true;
    notice(texts().opening);
    fetch(base + "renew", {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" }, auth),
      body: JSON.stringify({ plan: button.dataset.plan, method: button.dataset.renew })
    }).then(function (answer) {
      if (!answer.ok) { throw new Error(answer.status); }
      return answer.json();
    }).then(function (started) {
      if (started.method === "stars") {
        if (!tell("web_app_open_invoice", { slug: started.url.split("$")[1] })) {
          notice(texts().payInTelegram.replace("{link}", started.url));
        }
      } else if (!tell("web_app_open_link", { url: started.url })) {
        location.href = started.url;
      }
    }).catch(function () { notice(texts().failed); })
      .finally(function () { button.disabled = false; });
  }
  fetch(base + "view", { headers: auth }).then(function (answer) {
    return answer.text().then(function (html) {
      main.innerHTML = html;
      main.dataset.state = answer.ok ? "ready" : "refused";
      main.querySelectorAll("button[data-renew]").forEach(function (button) {
        button.addEventListener("click", function () { renew(button); });
      });
      wireCopyButtons();
      tell("web_app_ready", {});
    });
  });
})();
function wireCopyButtons() {
"""
    + COPY_SCRIPT
    + "}\n"
)


def shell(language: str) -> Html:
    """The page Telegram opens; the user's part comes from ``view``."""
    loading = element("main", element("p", "…", class_="muted"), id="cabinet", data_state="loading")
    return document(
        language=language,
        title=Speaker(language).t("cabinet_title"),
        style=STYLE,
        body=loading,
        script=SCRIPT,
    )


def refused(language: str, key: str) -> Html:
    """What a refused or failed view shows instead of the user's part."""
    return element(
        "section", element("p", Speaker(language).t(key), class_="status never"), id="refused"
    )


def cabinet(found: CabinetView, zone: ZoneInfo) -> Html:
    """The user's part: standing, keys, renewal, payments, referrals."""
    speaker = Speaker(found.language)
    return element(
        "div",
        _standing(speaker, found, zone),
        element("p", None, id="notice", class_="muted", role="status"),
        _keys(speaker, found),
        _renewal(speaker, found),
        _payments(speaker, found, zone),
        _referrals(speaker, found),
        lang=found.language,
        data_opening=speaker.t("cabinet_opening_payment"),
        data_failed=speaker.t("cabinet_renew_failed"),
        data_pay_in_telegram=speaker.t("cabinet_pay_in_telegram", link="{link}"),
    )


def _web(found: CabinetView, key: str, **values: object) -> str:
    return web_texts().text(key, found.language, **values)


def _standing(speaker: Speaker, found: CabinetView, zone: ZoneInfo) -> Html:
    standing, until = found.standing, found.until
    detail: list[Html] = []
    if until is not None and standing is not Standing.SUSPENDED:
        ended = standing is Standing.ENDED
        moment = local_moment(until, zone)
        when = _web(found, "until_ended" if ended else "until_active", moment=moment)
        detail.append(element("p", when, id="until"))
        if not ended:
            left = days_left(until, found.now)
            days = speaker.t("days_left_1") if left == 1 else speaker.t("days_left_n", n=left)
            detail.append(element("p", speaker.t("cabinet_days_left", days_left=days), id="left"))
    if standing is Standing.NEVER:
        detail.append(element("p", speaker.t("cabinet_none_hint"), class_="hint"))
    if standing is Standing.SUSPENDED:
        detail.append(element("p", _web(found, "suspended_hint"), class_="hint"))
    return element(
        "section",
        element("h1", speaker.t("cabinet_title")),
        element(
            "p",
            _web(found, f"status_{standing.value}"),
            id="status",
            class_=f"status {standing.value}",
            data_standing=standing.value,
            data_until=until.isoformat() if until is not None else None,
        ),
        detail,
        element("p", f"ID {found.telegram_id}", class_="muted"),
    )


def _copyable(found: CabinetView, text: str, css: str) -> Html:
    return join(
        element("code", text, class_=css),
        copy_button(text, label=_web(found, "copy"), done_label=_web(found, "copied")),
    )


def _keys(speaker: Speaker, found: CabinetView) -> Html:
    heading = element("h2", speaker.t("cabinet_keys"))
    if found.links_unavailable:
        unavailable = element("p", speaker.t("cabinet_unavailable"), class_="hint")
        return element("section", heading, unavailable, id="keys")
    if found.links is None or not found.links.links:
        return element("section", heading, element("p", speaker.t("cabinet_no_keys")), id="keys")
    url = found.links.subscription_url
    apps = [
        element("li", element("a", link.app, href=link.url, class_="button"))
        for link in import_links(url, "Keyland")
    ]
    countries = [
        element("div", element("b", country.capitalize()), _copyable(found, link, "link"))
        for country, link in found.links.ordered(found.region)
    ]
    return element(
        "section",
        heading,
        element("p", _web(found, "add_to_app_hint"), class_="hint"),
        element("ul", apps, class_="apps"),
        qr_image(url, label=_web(found, "qr_alt")),
        element("p", _web(found, "subscription_url"), class_="hint"),
        _copyable(found, url, "subscription"),
        element("div", countries, class_="country"),
        id="keys",
    )


def _renewal(speaker: Speaker, found: CabinetView) -> Html:
    rows = []
    for name, plan in found.plans.items():
        label = speaker.t(
            "plan_label", duration=duration(speaker, plan), price=plan.price, currency=plan.currency
        )
        buttons = [element("button", label, class_="renew", data_renew="yookassa", data_plan=name)]
        if plan.stars is not None:
            stars = speaker.t("cabinet_stars", stars=plan.stars)
            buttons.append(
                element("button", stars, class_="renew stars", data_renew="stars", data_plan=name)
            )
        css = "plan" if plan.stars is not None else "plan yookassa-only"
        rows.append(element("div", buttons, class_=css))
    return element("section", element("h2", speaker.t("cabinet_renew")), rows, id="renew")


def _payments(speaker: Speaker, found: CabinetView, zone: ZoneInfo) -> Html:
    heading = element("h2", speaker.t("cabinet_payments"))
    if not found.payments:
        nothing = element("p", speaker.t("cabinet_no_payments"), class_="muted")
        return element("section", heading, nothing, id="payments")
    rows = []
    for payment in found.payments:
        status = "refunded" if payment.refunded > 0 else payment.status
        known = status in {"credited", "held", "gift", "refunded"}
        plan = found.plans.get(payment.plan or "")
        rows.append(
            element(
                "tr",
                element("td", local_moment(payment.paid_at, zone) if payment.paid_at else ""),
                element("td", duration(speaker, plan) if plan else payment.plan or ""),
                element("td", speaker.t(f"cabinet_payment_{status}") if known else status),
                element("td", f"{payment.amount} {payment.currency}", class_="amount"),
                data_payment=payment.payment_id,
            )
        )
    return element("section", heading, element("table", rows), id="payments")


def _referrals(speaker: Speaker, found: CabinetView) -> Html:
    earned = found.referrals
    return element(
        "section",
        element("h2", speaker.t("cabinet_referrals")),
        element("p", speaker.t("cabinet_referral_hint"), class_="hint"),
        _copyable(found, found.referral_link, "referral"),
        element(
            "div",
            element(
                "div", element("strong", earned.invited, id="invited"), speaker.t("cabinet_invited")
            ),
            element(
                "div",
                element("strong", earned.bonus_days, id="bonus-days"),
                speaker.t("cabinet_bonus_days"),
            ),
            class_="figures",
        ),
        id="referrals",
    )
