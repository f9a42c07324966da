// A replica's log: fetched once, or followed as a stream (fetch + ReadableStream) until aborted.

import { adapterPath, getText, request } from "./api.js";
import { announce, field, h, replace } from "./dom.js";

const MAX_CHARS = 200_000;

export function logPanel(name, desired) {
  const pre = h("pre", { class: "log", id: "replica-log", tabindex: "0", "aria-label": "Replica log" });
  const instance = h("select", {});
  const follow = h("button", { type: "button", id: "follow", "aria-pressed": "false", text: "Follow" });
  const refresh = h("button", { type: "button", text: "Refresh" });
  let controller = null;

  const setInstances = (count) => {
    const current = instance.value || "0";
    if (instance.options.length === count) return;
    instance.replaceChildren(...Array.from({ length: Math.max(count, 1) }, (_, i) => h("option", { value: String(i), text: `replica ${i}` })));
    instance.value = Number(current) < count ? current : "0";
  };
  setInstances(desired);

  const stop = () => {
    controller?.abort();
    controller = null;
    follow.setAttribute("aria-pressed", "false");
    follow.textContent = "Follow";
  };

  const write = (text, appendIt) => {
    const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    pre.textContent = appendIt ? (pre.textContent + text).slice(-MAX_CHARS) : text;
    if (stick) pre.scrollTop = pre.scrollHeight;
  };

  const load = async () => {
    try {
      write(await getText(`${adapterPath(name)}/logs?instance=${instance.value}&tail=200`), false);
    } catch (error) {
      write(`(no log: ${error.message})`, false);
    }
  };

  const stream = async () => {
    controller = new AbortController();
    const mine = controller;
    follow.setAttribute("aria-pressed", "true");
    follow.textContent = "Following (stop)";
    write("", false);
    try {
      const response = await request("GET", `${adapterPath(name)}/logs?instance=${instance.value}&tail=200&follow=true`, {
        signal: mine.signal,
        accept: "text/plain",
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        write(value, true);
      }
      if (controller === mine) announce("The log stream ended.");
    } catch (error) {
      if (!mine.signal.aborted) write(`\n(log stream stopped: ${error.message})\n`, true);
    }
    if (controller === mine) stop();
  };

  follow.addEventListener("click", () => (controller ? stop() : stream()));
  refresh.addEventListener("click", () => (controller ? (stop(), stream()) : load()));
  instance.addEventListener("change", () => (controller ? (stop(), stream()) : load()));

  const section = h(
    "section",
    { class: "card logs", "aria-labelledby": "logs-title" },
    h("h2", { id: "logs-title", text: "Replica logs" }),
    h("div", { class: "toolbar" }, field("log-instance", "Replica", instance), follow, refresh),
    pre,
  );
  let loaded = false;
  const loadOnce = () => {
    if (loaded) return;
    loaded = true;
    load();
  };
  pre.textContent = "(waiting for a replica to start)";
  return { section, stop, setInstances, loadOnce };
}

/** The last operation's log (the target's own output, e.g. Pulumi's). */
export async function operationLog(name, pre) {
  try {
    replace(pre, await getText(`${adapterPath(name)}/logs?source=operation&tail=200`) || "(empty)");
  } catch (error) {
    replace(pre, `(no operation log: ${error.message})`);
  }
}
