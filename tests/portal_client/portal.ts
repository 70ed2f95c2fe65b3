// A small portal written only against the client generated from GET /openapi.json (openapi-typescript types,
// openapi-fetch calls), compiled with `tsc --strict` and run against the local stack by
// tests/test_generated_client.py. It does what the portal's pages do, relying on the types for every field it reads:
// if the document were vague (no discriminator, open strings, a key typed "always present" that the server leaves
// out), this file would not compile. Each answer is recorded (status, path template, headers, body) for the Python
// side to validate against the document; each step also asserts what a person would see.
import { writeFileSync } from "node:fs";
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./api.js";

type Schemas = components["schemas"];
type Subscription = Schemas["SubscriptionAdminOut"] | Schemas["SubscriptionUserOut"];
type HistoryLine = Schemas["HistoryOut"]["items"][number];

interface Recorded {
  step: string;
  method: string;
  path: string;
  status: number;
  contentType: string | null;
  exposed: string | null;
  body: unknown;
  bytes: number;
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

const baseUrl = env("PORTAL_BASE_URL");
const recorded: Recorded[] = [];
let step = "start";

const recorder: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const copy = response.clone();
    const contentType = copy.headers.get("content-type");
    const raw = new Uint8Array(await copy.arrayBuffer());
    const text = new TextDecoder().decode(raw);
    let body: unknown = null;
    if (contentType !== null && contentType.startsWith("application/json") && raw.length > 0) body = JSON.parse(text);
    recorded.push({
      step, method: request.method, path: schemaPath, status: response.status, contentType,
      exposed: response.headers.get("access-control-expose-headers"), body, bytes: raw.length,
    });
    return undefined;
  },
};

// The portal is served from the stack's own origin, as a browser would send it: CORS answers are read as there.
function portal(token: string) {
  const client = createClient<paths>({
    baseUrl, headers: { Authorization: `Bearer ${token}`, Origin: baseUrl },
  });
  client.use(recorder);
  return client;
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`step "${step}": ${what}`);
}

// Where a form shows an error: the app's errors may point at a field, the gateway's (429, 5xx) never do.
function fieldOf(error: Schemas["Error"] | Schemas["GatewayError"]): string | undefined {
  return "Field" in error ? error.Field : undefined;
}

let passed = 0;
async function run(name: string, body: () => Promise<void>): Promise<void> {
  step = name;
  await body();
  passed += 1;
}

// What a page shows for a subscription: the admin's extra fields compile only once `role` is narrowed.
function headline(s: Subscription): string {
  if (s.role === "admin") {
    const card = s.payment_method.type === "card" && s.payment_method.last4 !== undefined
      ? ` (card ending ${s.payment_method.last4})` : "";
    return `${s.product.name}: ${s.seats_used}/${s.license_quantity} seats, PO ${s.po_number ?? "none"}${card}`;
  }
  return `${s.product.name} (managed by ${s.admin.name})`;
}

function describe(line: HistoryLine): string {
  switch (line.action) {
    case "subscription.activated": return `activated by ${line.details.channel}`;
    case "seat.assigned": return `seat for ${line.details.email}`;
    case "seat.removed": return `seat removed from ${line.details.email}`;
    case "po_number.changed": return `PO ${line.details.old ?? "none"} -> ${line.details.new ?? "none"}`;
    case "payment_method.changed": return `pays by ${line.details.type}`;
    case "cancellation.scheduled": return `ends on ${line.details.renewal_date}`;
    default: return line.action;
  }
}

const CAPABILITY_NAMES: (keyof Schemas["CapabilitiesOut"])[] = [
  "activate", "manage_users", "transfer_admin", "edit_po_number", "change_payment_method", "cancel", "view_invoices",
];

async function main(): Promise<void> {
  const admin = portal(env("ADMIN_TOKEN"));
  const seatHolder = portal(env("SEAT_TOKEN"));
  const active = env("ACTIVE_ID");
  const pending = env("PENDING_ID");
  const handedOver = env("TRANSFER_ID");
  const seatEmail = env("SEAT_EMAIL");
  const newcomer = `newcomer.${Date.now()}@example.fr`;
  let etag = "";

  await run("list my subscriptions", async () => {
    const { data, error } = await admin.GET("/subscriptions", { params: { query: { limit: 50 } } });
    check(error === undefined && data !== undefined, "the list answers");
    check(data.items.length >= 3 && data.next_cursor === null, "every subscription on one page, no cursor after it");
    check(data.items.every((s) => s.role === "admin"), "the admin's own subscriptions, as admin");
    for (const s of data.items) check(headline(s).length > 0, "a headline per subscription");
  });

  await run("open the active subscription and read its ETag", async () => {
    const { data, response } = await admin.GET("/subscriptions/{subscription_id}", {
      params: { path: { subscription_id: active } },
    });
    check(data !== undefined && data.role === "admin", "the admin's view");
    check(data.status === "active" && data.capabilities.manage_users, "active, seats manageable");
    check(CAPABILITY_NAMES.every((name) => typeof data.capabilities[name] === "boolean"), "every capability");
    etag = response.headers.get("etag") ?? "";
    check(etag === `"${data.version}"`, `the ETag is readable across origins and is the version (got ${etag})`);
    check(data.payment_method.brand === undefined, "paying by invoice: no card brand key at all");
  });

  await run("the seat holder sees the reduced view", async () => {
    const { data } = await seatHolder.GET("/subscriptions/{subscription_id}", {
      params: { path: { subscription_id: active } },
    });
    check(data !== undefined && data.role === "user", "the seat holder's view");
    check(!("license_quantity" in data), "no admin field in the user's view");
  });

  await run("the seat holder's entitlements", async () => {
    const { data } = await seatHolder.GET("/me/entitlements", {});
    check(data !== undefined && data.items.some((e) => e.subscription_id === active), "the product may be used");
  });

  await run("the seat holder cannot manage seats", async () => {
    const { error, response } = await seatHolder.GET("/subscriptions/{subscription_id}/users", {
      params: { path: { subscription_id: active } },
    });
    check(response.status === 403 && error !== undefined && error.Code === "ForbiddenError", "403 ForbiddenError");
  });

  await run("list the seats", async () => {
    const { data } = await admin.GET("/subscriptions/{subscription_id}/users", {
      params: { path: { subscription_id: active }, query: { limit: 10 } },
    });
    check(data !== undefined && data.items.some((s) => s.email === seatEmail), "the seat holder is listed");
    check(data.seats.used === data.items.length && data.next_cursor === null, "the count matches, one page");
  });

  await run("assign a seat", async () => {
    const { data, response } = await admin.POST("/subscriptions/{subscription_id}/users", {
      params: { path: { subscription_id: active }, header: { "Idempotency-Key": `seat-${newcomer}` } },
      body: { email: newcomer, name: "New Comer" },
    });
    check(response.status === 201 && data !== undefined && data.email === newcomer, "201 with the seat");
  });

  await run("the same request again is a replay", async () => {
    const { data, response } = await admin.POST("/subscriptions/{subscription_id}/users", {
      params: { path: { subscription_id: active }, header: { "Idempotency-Key": `seat-${newcomer}` } },
      body: { email: newcomer, name: "New Comer" },
    });
    check(response.status === 201 && data !== undefined, "the first answer");
    check(response.headers.get("idempotent-replayed") === "true", "marked as replayed, readable across origins");
  });

  await run("a bad email points at its field", async () => {
    const { error, response } = await admin.POST("/subscriptions/{subscription_id}/users", {
      params: { path: { subscription_id: active } },
      body: { email: "not an email", name: "X" },
    });
    check(response.status === 400 && error !== undefined && fieldOf(error) === "/email", "400 with Field /email");
  });

  await run("remove the seat", async () => {
    const { response } = await admin.DELETE("/subscriptions/{subscription_id}/users/{email}", {
      params: { path: { subscription_id: active, email: newcomer } },
    });
    check(response.status === 204, "204");
  });

  await run("the people to hand over to", async () => {
    const { data } = await admin.GET("/subscriptions/{subscription_id}/admin-candidates", {
      params: { path: { subscription_id: active } },
    });
    check(data !== undefined && data.items.some((c) => c.sources.includes("seat_holder")), "the seat holders");
  });

  await run("change the PO number at the version read", async () => {
    const read = await admin.GET("/subscriptions/{subscription_id}", { params: { path: { subscription_id: active } } });
    etag = read.response.headers.get("etag") ?? "";
    const { data, response } = await admin.PATCH("/subscriptions/{subscription_id}", {
      params: { path: { subscription_id: active }, header: { "If-Match": etag } },
      body: { po_number: "PO-TS-1" },
    });
    check(data !== undefined && data.po_number === "PO-TS-1", "the new PO number");
    check(response.headers.get("etag") !== etag, "a new version");
  });

  await run("a change at a stale version is refused", async () => {
    const { error, response } = await admin.PATCH("/subscriptions/{subscription_id}", {
      params: { path: { subscription_id: active }, header: { "If-Match": etag } },
      body: { po_number: "PO-TS-2" },
    });
    check(response.status === 412 && error !== undefined && error.Code === "PreconditionFailed", "412");
  });

  await run("remove the PO number", async () => {
    const { data } = await admin.PATCH("/subscriptions/{subscription_id}", {
      params: { path: { subscription_id: active } }, body: { po_number: null },
    });
    check(data !== undefined && data.po_number === null, "no PO number");
  });

  await run("pay by card", async () => {
    const { data } = await admin.PUT("/subscriptions/{subscription_id}/payment-method", {
      params: { path: { subscription_id: active } },
      body: { type: "card", token: "tok_portal_check", brand: "visa", last4: "4242", exp_month: 8, exp_year: 2035 },
    });
    check(data !== undefined && data.payment_method.last4 === "4242", "the card's last four digits");
  });

  await run("pay by invoice again", async () => {
    const { data } = await admin.PUT("/subscriptions/{subscription_id}/payment-method", {
      params: { path: { subscription_id: active } }, body: { type: "invoice" },
    });
    check(data !== undefined && data.payment_method.type === "invoice" && !("last4" in data.payment_method),
      "no card keys once paying by invoice");
  });

  await run("cancel at renewal, then withdraw it", async () => {
    const path = { subscription_id: active };
    const cancelled = await admin.POST("/subscriptions/{subscription_id}/cancellation", { params: { path } });
    check(cancelled.data !== undefined && cancelled.data.cancel_at_renewal, "cancelled at renewal");
    const kept = await admin.DELETE("/subscriptions/{subscription_id}/cancellation", { params: { path } });
    check(kept.data !== undefined && !kept.data.cancel_at_renewal, "kept");
  });

  await run("read the history", async () => {
    const { data } = await admin.GET("/subscriptions/{subscription_id}/history", {
      params: { path: { subscription_id: active }, query: { limit: 50 } },
    });
    check(data !== undefined && data.items.length > 0, "something happened");
    const lines = data.items.map(describe);
    check(lines.includes("pays by card") && lines.includes("activated by portal"), lines.join("; "));
  });

  let invoiceId = "";
  await run("list the invoices", async () => {
    const { data } = await admin.GET("/subscriptions/{subscription_id}/invoices", {
      params: { path: { subscription_id: active } },
    });
    check(data !== undefined && data.items.length === 1 && data.next_cursor === null, "the first invoice alone");
    const [invoice] = data.items;
    check(invoice !== undefined, "an invoice");
    invoiceId = invoice.id;
  });

  await run("open the invoice", async () => {
    const { data } = await admin.GET("/subscriptions/{subscription_id}/invoices/{invoice_id}", {
      params: { path: { subscription_id: active, invoice_id: invoiceId } },
    });
    check(data !== undefined && data.kind === "initial" && Number(data.total_amount) > 0, "an initial invoice");
  });

  await run("download the invoice PDF", async () => {
    const { data, response } = await admin.GET("/subscriptions/{subscription_id}/invoices/{invoice_id}/pdf", {
      params: { path: { subscription_id: active, invoice_id: invoiceId } },
      headers: { Accept: "application/pdf" }, parseAs: "arrayBuffer",
    });
    check(data !== undefined && new TextDecoder().decode(data.slice(0, 5)) === "%PDF-", "a PDF");
    check((response.headers.get("content-disposition") ?? "").includes(".pdf"), "a file name, readable");
  });

  await run("the agreement and its PDF", async () => {
    const { data } = await admin.GET("/subscriptions/{subscription_id}/agreement", {
      params: { path: { subscription_id: active } },
    });
    check(data !== undefined && data.accepted_at !== null, "accepted");
    const pdf = await admin.GET("/subscriptions/{subscription_id}/agreement/pdf", {
      params: { path: { subscription_id: active } }, headers: { Accept: "application/pdf" }, parseAs: "arrayBuffer",
    });
    check(pdf.data !== undefined && pdf.data.byteLength > 1000, "a PDF");
  });

  await run("activate the pending subscription", async () => {
    const path = { subscription_id: pending };
    const shown = await admin.GET("/subscriptions/{subscription_id}", { params: { path } });
    check(shown.data !== undefined && shown.data.role === "admin" && shown.data.capabilities.activate, "to activate");
    const resent = await admin.POST("/subscriptions/{subscription_id}/activation-email", { params: { path } });
    check(resent.response.status === 202 && resent.data !== undefined, "a new link sent");
    const done = await admin.POST("/subscriptions/{subscription_id}/activation", {
      params: { path }, body: { accept_agreement: true, agreement_version: shown.data.agreement.version },
    });
    check(done.data !== undefined && done.data.status === "active" && done.data.activated_at !== null, "active");
  });

  await run("hand a subscription over", async () => {
    const { data } = await admin.POST("/subscriptions/{subscription_id}/admin-transfer", {
      params: { path: { subscription_id: handedOver } }, body: { email: seatEmail, name: "Seat Holder" },
    });
    check(data !== undefined && data.admin.email === seatEmail, "the new administrator");
    const gone = await admin.GET("/subscriptions/{subscription_id}", {
      params: { path: { subscription_id: handedOver } },
    });
    check(gone.response.status === 404 && gone.error !== undefined, "no longer visible to the old admin");
  });

  await run("an unknown subscription is a 404", async () => {
    const { error, response } = await admin.GET("/subscriptions/{subscription_id}", {
      params: { path: { subscription_id: "00000000-0000-4000-8000-000000000000" } },
    });
    check(response.status === 404 && error !== undefined && error.Code === "NotFoundError", "404 NotFoundError");
  });
}

main().then(
  () => {
    writeFileSync(env("RECORD_PATH"), JSON.stringify({ passed, recorded }));
  },
  (failure: unknown) => {
    writeFileSync(env("RECORD_PATH"), JSON.stringify({ passed, recorded, failure: String(failure) }));
    process.exitCode = 1;
  },
);
