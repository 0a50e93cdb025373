/* fileserver live demo: /metrics chart and kernel vs. user-space timing.
 * Plain JavaScript, no dependencies, no build step. */
"use strict";

const METRICS_URL = "/metrics";
const KERNEL_URL = "/static.html";     /* answered from the kernel cache */
const USER_URL = "/static%2ehtml";     /* '%' is never cacheable: user space */
const WINDOW_MS = 60000;
const POLL_MS = 1000;

const M_KERNEL = "fileserver_kernel_responses_total";
const M_USER = "fileserver_user_responses_total";
const M_ENTRIES = "fileserver_cache_entries";
const M_CONNS = "fileserver_connections_active";

const $ = (id) => document.getElementById(id);

/* ---- Prometheus text format ------------------------------------------ */

/* Returns a Map name -> value, summing the samples of every label set.
 * Comment (# HELP / # TYPE) and blank lines are skipped. */
function parseMetrics(text) {
	const out = new Map();
	for (const raw of text.split("\n")) {
		const line = raw.trim();
		if (line === "" || line[0] === "#")
			continue;
		const m = /^([A-Za-z_:][A-Za-z0-9_:]*)/.exec(line);
		if (!m)
			continue;
		let i = m[1].length;
		if (line[i] === "{") {	/* skip labels; values may hold '}' */
			let quoted = false;
			for (i++; i < line.length; i++) {
				const c = line[i];
				if (quoted && c === "\\") { i++; continue; }
				if (c === '"') quoted = !quoted;
				else if (c === "}" && !quoted) break;
			}
			i++;
		}
		const fields = line.slice(i).trim().split(/\s+/);
		const v = parseValue(fields[0]);
		if (Number.isNaN(v))
			continue;
		out.set(m[1], (out.get(m[1]) || 0) + v);
	}
	return out;
}

function parseValue(s) {
	if (s === undefined || s === "") return NaN;
	if (s === "+Inf" || s === "Inf") return Infinity;
	if (s === "-Inf") return -Infinity;
	const v = Number(s);
	return Number.isNaN(v) ? parseFloat(s) : v;
}

async function fetchMetrics(timeoutMs) {
	const ctl = new AbortController();
	const timer = setTimeout(() => ctl.abort(), timeoutMs || 3000);
	let r;
	try {
		r = await fetch(METRICS_URL, { cache: "no-store", signal: ctl.signal });
	} catch (e) {
		throw new Error(e.name === "AbortError"
			? METRICS_URL + " did not answer within 3 s"
			: "network error fetching " + METRICS_URL + " (" + e.message + ")");
	} finally {
		clearTimeout(timer);
	}
	const body = await r.text();
	if (!r.ok)
		throw new Error(METRICS_URL + " answered " + r.status +
			(r.statusText ? " " + r.statusText : ""));
	const m = parseMetrics(body);
	for (const name of [M_KERNEL, M_USER])
		if (!m.has(name))
			throw new Error(METRICS_URL + " has no " + name);
	return m;
}

/* ---- live stats ------------------------------------------------------- */

const samples = [];	/* {t, k, u}: t = performance.now(), counters */
let rendered = false;

function fmtRate(v) {
	if (v === null || !Number.isFinite(v)) return "\u2013";
	return v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString("en");
}

function fmtInt(v) {
	return v === undefined ? "\u2013" : Math.round(v).toLocaleString("en");
}

/* Per-second rates between consecutive samples, at the later sample. */
function rates() {
	const out = [];
	for (let i = 1; i < samples.length; i++) {
		const a = samples[i - 1], b = samples[i];
		const dt = (b.t - a.t) / 1000;
		if (dt <= 0) continue;
		out.push({ t: b.t, k: (b.k - a.k) / dt, u: (b.u - a.u) / dt });
	}
	return out;
}

function showError(msg) {
	const err = $("stats-error");
	err.textContent = "Live stats unavailable: " + msg +
		". Retrying every second\u2026";
	err.hidden = false;
	$("stats-body").hidden = true;
}

function render(m) {
	const r = rates();
	const last = r.length ? r[r.length - 1] : null;
	const k = m.get(M_KERNEL), u = m.get(M_USER);
	$("hit-ratio").textContent = k + u > 0
		? (100 * k / (k + u)).toFixed(1) + " %" : "\u2013";
	$("kernel-rate").textContent = fmtRate(last && last.k);
	$("user-rate").textContent = fmtRate(last && last.u);
	$("cache-entries").textContent = fmtInt(m.get(M_ENTRIES));
	$("connections").textContent = fmtInt(m.get(M_CONNS));

	$("stats-error").hidden = true;
	$("stats-body").hidden = false;
	drawChart(r);
	if (!rendered) {
		rendered = true;
		$("stats").dataset.ready = "1";
	}
}

/* The y axis top: at least 4, and a quarter of it reads well. */
function niceCeil(v) {
	if (v <= 4) return 4;
	const p = Math.pow(10, Math.floor(Math.log10(v)));
	for (const f of [1, 2, 4, 6, 8, 10])
		if (f * p >= v) return f * p;
	return 10 * p;
}

function drawChart(r) {
	const canvas = $("chart");
	const dpr = window.devicePixelRatio || 1;
	const w = canvas.clientWidth, h = canvas.clientHeight;
	if (w === 0 || h === 0) return;
	if (canvas.width !== Math.round(w * dpr) ||
	    canvas.height !== Math.round(h * dpr)) {
		canvas.width = Math.round(w * dpr);
		canvas.height = Math.round(h * dpr);
	}
	const ctx = canvas.getContext("2d");
	ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
	ctx.clearRect(0, 0, w, h);

	const css = getComputedStyle(document.documentElement);
	const cKernel = css.getPropertyValue("--kernel").trim() || "#0b7a5c";
	const cUser = css.getPropertyValue("--user").trim() || "#b4530a";
	const left = 52, right = 12, top = 12, bottom = 26;
	const pw = w - left - right, ph = h - top - bottom;
	const now = performance.now();
	let max = 0;
	for (const p of r) max = Math.max(max, p.k, p.u);
	const ymax = niceCeil(max * 1.1);
	const x = (t) => left + pw * (1 - (now - t) / WINDOW_MS);
	const y = (v) => top + ph * (1 - Math.max(0, v) / ymax);

	/* grid and axis labels */
	ctx.font = "12px system-ui, sans-serif";
	ctx.fillStyle = "#5b6670";
	ctx.strokeStyle = "#e3e7eb";
	ctx.lineWidth = 1;
	ctx.textAlign = "right";
	ctx.textBaseline = "middle";
	for (let i = 0; i <= 4; i++) {
		const v = ymax * i / 4, yy = Math.round(y(v)) + 0.5;
		ctx.beginPath(); ctx.moveTo(left, yy); ctx.lineTo(left + pw, yy);
		ctx.stroke();
		ctx.fillText(Number.isInteger(v) ? v.toLocaleString("en")
			: v.toFixed(1), left - 6, yy);
	}
	ctx.textAlign = "center";
	ctx.textBaseline = "top";
	for (let s = 60; s >= 0; s -= 15)
		ctx.fillText(s === 0 ? "now" : "\u2212" + s + " s",
			left + pw * (1 - s / 60), top + ph + 6);
	ctx.save();
	ctx.translate(12, top + ph / 2);
	ctx.rotate(-Math.PI / 2);
	ctx.fillText("responses/s", 0, -6);
	ctx.restore();

	/* the two series; user space dashed so they differ without colour */
	ctx.save();
	ctx.beginPath(); ctx.rect(left, top - 2, pw, ph + 4); ctx.clip();
	for (const [key, colour, dash] of [["k", cKernel, []],
	                                   ["u", cUser, [6, 4]]]) {
		ctx.strokeStyle = colour;
		ctx.lineWidth = 2.2;
		ctx.setLineDash(dash);
		ctx.beginPath();
		r.forEach((p, i) => {
			if (i === 0) ctx.moveTo(x(p.t), y(p[key]));
			else ctx.lineTo(x(p.t), y(p[key]));
		});
		ctx.stroke();
	}
	ctx.restore();

	if (r.length === 0) {
		ctx.fillStyle = "#5b6670";
		ctx.textAlign = "center";
		ctx.textBaseline = "middle";
		ctx.fillText("collecting samples\u2026", left + pw / 2, top + ph / 2);
	}
	const last = r.length ? r[r.length - 1] : null;
	canvas.setAttribute("aria-label",
		"Responses per second over the last 60 seconds" + (last
			? ": now " + fmtRate(last.k) + " from the kernel, " +
			  fmtRate(last.u) + " from user space" : ""));
}

async function poll() {
	const started = performance.now();
	try {
		const m = await fetchMetrics(3000);
		const s = { t: performance.now(), k: m.get(M_KERNEL), u: m.get(M_USER) };
		const prev = samples[samples.length - 1];
		if (prev && (s.k < prev.k || s.u < prev.u))
			samples.length = 0;	/* counters reset: server restarted */
		samples.push(s);
		while (samples.length > 2 && samples[1].t < s.t - WINDOW_MS)
			samples.shift();
		render(m);
	} catch (e) {
		showError(e.message);
	}
	setTimeout(poll, Math.max(0, POLL_MS - (performance.now() - started)));
}

/* ---- comparison ------------------------------------------------------- */

async function timeOne(url) {
	const t0 = performance.now();
	const r = await fetch(url, { cache: "no-store" });
	await r.arrayBuffer();
	const t1 = performance.now();
	if (!r.ok)
		throw new Error(url + " answered " + r.status);
	return t1 - t0;
}

function median(sorted) {
	const n = sorted.length, h = n >> 1;
	return n % 2 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2;
}

function percentile(sorted, p) {	/* nearest rank */
	return sorted[Math.max(0, Math.ceil(p / 100 * sorted.length) - 1)];
}

async function kernelCount() {
	try {
		return (await fetchMetrics(2000)).get(M_KERNEL);
	} catch (e) {
		return undefined;
	}
}

function cell(row, text, cls) {
	const td = document.createElement("td");
	td.textContent = text;
	if (cls) td.className = cls;
	row.appendChild(td);
}

function showResults(n, rows, kernelDelta) {
	const res = $("results");
	const table = document.createElement("table");
	table.createCaption().textContent =
		n + " requests per path, milliseconds per request";
	const head = table.createTHead().insertRow();
	for (const t of ["path", "expected to be served by", "median", "p90"]) {
		const th = document.createElement("th");
		th.scope = "col";
		th.textContent = t;
		head.appendChild(th);
	}
	const body = table.createTBody();
	for (const row of rows) {
		const tr = body.insertRow();
		tr.dataset.path = row.url;
		const th = document.createElement("th");
		th.scope = "row";
		const code = document.createElement("code");
		code.textContent = row.url;
		th.appendChild(code);
		tr.appendChild(th);
		cell(tr, row.label);
		cell(tr, row.median.toFixed(3), "num median");
		cell(tr, row.p90.toFixed(3), "num p90");
	}
	res.replaceChildren(table);
	const p = document.createElement("p");
	let diff = rows[1].median - rows[0].median;
	if (Math.abs(diff) < 0.0005) diff = 0;	/* no "-0.000" */
	p.textContent = "User space minus kernel, median: " +
		diff.toFixed(3) + " ms." + (kernelDelta === undefined ? ""
			: " Kernel responses counted by the server during the run: " +
			  kernelDelta + " (of " + (n + 2) + " requests to " +
			  KERNEL_URL + ").");
	res.appendChild(p);
}

async function compare() {
	const btn = $("compare"), status = $("compare-status"), res = $("results");
	const input = $("count");
	let n = parseInt(input.value, 10);
	if (!(n >= 1)) n = 200;
	n = Math.min(n, 10000);
	input.value = n;

	btn.disabled = true;
	delete res.dataset.done;
	delete res.dataset.error;
	const times = { k: [], u: [] };
	try {
		const before = await kernelCount();
		/* warm-up: the first request on a new connection is user space's */
		await timeOne(KERNEL_URL);
		await timeOne(USER_URL);
		await timeOne(KERNEL_URL);
		await timeOne(USER_URL);
		for (let i = 0; i < n; i++) {
			times.k.push(await timeOne(KERNEL_URL));
			times.u.push(await timeOne(USER_URL));
			if (i % 20 === 19)
				status.textContent = "Running: " + (i + 1) + " of " + n + "\u2026";
		}
		const after = await kernelCount();
		const rows = [
			{ url: KERNEL_URL, label: "kernel cache (eBPF)", t: times.k },
			{ url: USER_URL, label: "user space (io_uring)", t: times.u },
		].map((r) => {
			const s = r.t.slice().sort((a, b) => a - b);
			return { url: r.url, label: r.label,
			         median: median(s), p90: percentile(s, 90) };
		});
		showResults(n, rows, before !== undefined && after !== undefined
			? after - before : undefined);
		status.textContent = "Done.";
	} catch (e) {
		res.dataset.error = e.message;
		const p = document.createElement("p");
		p.className = "error";
		p.textContent = "Comparison failed: " + e.message;
		res.replaceChildren(p);
		status.textContent = "";
	} finally {
		btn.disabled = false;
		res.dataset.done = "1";
	}
}

document.addEventListener("DOMContentLoaded", () => {
	$("compare").addEventListener("click", compare);
	poll();
});
window.addEventListener("resize", () => {
	if (rendered && !$("stats-body").hidden) drawChart(rates());
});
