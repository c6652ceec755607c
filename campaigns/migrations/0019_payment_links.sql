-- Payment links that arrive: how a company's debtors get a payment link, and which of its webhook
-- endpoints is the messaging gateway (WhatsApp/SMS) that sends it.
--
-- The link's message carries the debtor's full phone number (the gateway must know where to send it),
-- so it is a private event: delivered only to the endpoints bound to that company that ask for it by
-- name, never to an endpoint subscribed to "every event".
ALTER TABLE companies
    ADD COLUMN payment_link_template text NOT NULL DEFAULT '',  -- e.g. https://pagos.example.cl/d/{debtor_id}
    ADD COLUMN payment_link_via      text NOT NULL DEFAULT '',  -- what the agent names: "WhatsApp", "SMS"
    ADD COLUMN payment_instructions  text NOT NULL DEFAULT '';  -- said when no link can be sent: a bank transfer's data

ALTER TABLE webhook_endpoints
    ADD COLUMN company_id bigint REFERENCES companies (id) ON DELETE CASCADE;

CREATE INDEX webhook_endpoints_company ON webhook_endpoints (company_id) WHERE company_id IS NOT NULL;
