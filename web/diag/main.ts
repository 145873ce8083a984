// The diagnostics page: connect (Bluetooth or USB cable), read the node's report every few
// seconds, show it as panels; log in for the crew's actions; lock again on disconnect.

import { FieldError } from "../../toolchain/field-error.js";
import { connectNode, unsupported, type TransportKind } from "./transport.js";
import { DiagSession, type SelfTest } from "./session.js";
import { History, renderReport } from "./view.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>("status");
const panels = $<HTMLDivElement>("panels");
const loginForm = $<HTMLFormElement>("login");
const actions = $<HTMLDivElement>("actions");
const period = $<HTMLSelectElement>("period");

let session: DiagSession | undefined;
let history = new History();
let timer: ReturnType<typeof setTimeout> | undefined;
let reading = false;

function say(text: string, bad = false): void {
  status.textContent = text;
  status.className = bad ? "bad" : "";
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function showConnected(on: boolean): void {
  $<HTMLButtonElement>("disconnect").hidden = !on;
  $<HTMLButtonElement>("refresh").hidden = !on;
  for (const id of ["connect-ble", "connect-serial"]) $<HTMLButtonElement>(id).disabled = on;
  loginForm.hidden = !on || !session?.locked;
  actions.hidden = !on || !!session?.locked;
}

async function read(): Promise<void> {
  if (!session || reading) return;
  reading = true;
  try {
    const d = await session.read();
    history.add(d);
    panels.replaceChildren(...renderReport(d, history, session.locked));
    say(`${session.link.name}: read ${new Date().toLocaleTimeString()}` + (session.locked ? " (console locked: read-only health report)" : ""));
  } catch (err) {
    say(`no report: ${message(err)}`, true);
  } finally {
    reading = false;
    schedule();
  }
}

function schedule(): void {
  clearTimeout(timer);
  const s = Number(period.value);
  if (session && s > 0) timer = setTimeout(read, s * 1000);
}

async function connect(kind: TransportKind): Promise<void> {
  say(kind === "bluetooth" ? "choose the node in the browser's Bluetooth list..." : "choose the node's USB serial port...");
  try {
    const link = await connectNode(kind);
    session = new DiagSession(link);
    say(`connected over ${link.name}; reaching the console...`);
    await session.open();
    history = new History();
    showConnected(true);
    await read();
  } catch (err) {
    say(message(err), true);
    await disconnect();
  }
}

async function disconnect(): Promise<void> {
  clearTimeout(timer);
  const s = session;
  session = undefined;
  showConnected(false);
  if (!s) return;
  await s.lock();
  await s.link.close().catch(() => {});
  say("disconnected (console locked again)");
}

async function act(action: "restart" | "selftest"): Promise<void> {
  if (!session) return;
  const out = $<HTMLDivElement>("action-result");
  out.replaceChildren();
  try {
    if (action === "restart" && !confirm("Restart the node now? It saves its queue first.")) return;
    const r = await session.act(action);
    if (action === "restart") {
      say("the node is restarting; reconnect in a few seconds");
      await disconnect();
      return;
    }
    const t = r as SelfTest;
    const list = document.createElement("ul");
    for (const c of t.checks) {
      const li = document.createElement("li");
      li.className = c.ok ? "good" : "bad";
      li.textContent = `${c.ok ? "ok" : "FAIL"} ${c.name}: ${c.detail}`;
      list.append(li);
    }
    const h = document.createElement("p");
    h.textContent = t.ok ? "Self-test passed" : "Self-test found problems";
    h.className = t.ok ? "good" : "bad";
    out.replaceChildren(h, list);
  } catch (err) {
    say(message(err), true);
  }
}

$<HTMLButtonElement>("connect-ble").addEventListener("click", () => void connect("bluetooth"));
$<HTMLButtonElement>("connect-serial").addEventListener("click", () => void connect("serial"));
$<HTMLButtonElement>("disconnect").addEventListener("click", () => void disconnect());
$<HTMLButtonElement>("refresh").addEventListener("click", () => void read());
$<HTMLButtonElement>("restart").addEventListener("click", () => void act("restart"));
$<HTMLButtonElement>("selftest").addEventListener("click", () => void act("selftest"));
period.addEventListener("change", schedule);
loginForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const pw = $<HTMLInputElement>("password");
  if (!session) return;
  session
    .login(pw.value)
    .then(() => {
      pw.value = "";
      showConnected(true);
      return read();
    })
    .catch((err) => say(err instanceof FieldError ? err.message : message(err), true));
});
window.addEventListener("pagehide", () => void disconnect());

// say up front what this browser cannot do
const missing = (["bluetooth", "serial"] as TransportKind[]).map((k) => unsupported(k)).filter(Boolean);
if (missing.length) say(missing.join("; "));
