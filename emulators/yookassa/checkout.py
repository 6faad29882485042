"""The payer's side, for the demo: the page a payment's ``confirmation_url`` leads to.

"Pay" does what the control route ``pay`` does; "Cancel" lets the payment lapse as an
abandoned one does (``expired_on_confirmation``). Both then send the payer back to the
payment's ``return_url``, as YooKassa does.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import BaseRoute, Route

from emulators.yookassa.provider import Provider
from emulators.yookassa.state import Cancellation, Payment

ABANDONED = Cancellation("yoo_money", "expired_on_confirmation")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>YooKassa emulator: checkout</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto}}
button{{font-size:1.1rem;padding:.5rem 1.5rem;margin-right:1rem}}</style></head>
<body><h1>Test payment</h1>
<p>{description}</p>
<p><strong>{amount}</strong></p>
<p>Status: <span id="status">{status}</span></p>
{actions}
</body></html>
"""

ACTIONS = """<form method="post" action="/checkout/{id}/pay" style="display:inline">
<button type="submit">Pay</button></form>
<form method="post" action="/checkout/{id}/cancel" style="display:inline">
<button type="submit">Cancel</button></form>"""


def render(payment: Payment) -> str:
    actions = ACTIONS.format(id=escape(payment.id)) if payment.status == "pending" else ""
    if not actions and payment.return_url:
        actions = f'<p><a href="{escape(payment.return_url)}">Back to the shop</a></p>'
    return PAGE.format(
        description=escape(payment.description or ""),
        amount=escape(f"{payment.amount.value:.2f} {payment.amount.currency}"),
        status=escape(payment.status),
        actions=actions,
    )


def checkout_routes(provider: Provider) -> list[BaseRoute]:
    def back(payment_id: str) -> RedirectResponse:
        payment = provider.ledger.payment(payment_id)
        return RedirectResponse(payment.return_url or f"/checkout/{payment_id}", status_code=303)

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(render(provider.ledger.payment(request.path_params["payment_id"])))

    async def pay(request: Request) -> RedirectResponse:
        payment_id = request.path_params["payment_id"]
        provider.pay(payment_id)
        return back(payment_id)

    async def cancel(request: Request) -> RedirectResponse:
        payment_id = request.path_params["payment_id"]
        provider.cancel(payment_id, ABANDONED, by_merchant=False)
        return back(payment_id)

    return [
        Route("/checkout/{payment_id}", page, methods=["GET"]),
        Route("/checkout/{payment_id}/pay", pay, methods=["POST"]),
        Route("/checkout/{payment_id}/cancel", cancel, methods=["POST"]),
    ]
