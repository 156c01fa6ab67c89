/* Names, dates, durations and counts in the page's language (Intl). */

import { T, fmt } from "../lib/messages.js";

export const isEn = (document.documentElement.lang || "").toLowerCase().startsWith("en");
export const locale = isEn ? "en-HK" : "zh-HK";

export const serviceName = (en, zh) => (isEn ? en || zh : zh || en) || "";
export const otherName = (en, zh) => { const other = isEn ? zh : en; return other && other !== serviceName(en, zh) ? other : ""; };
/** Hong Kong time, as the platform's pages and notices, whatever the phone's zone (issue 16, polish16 item 9). */
export const TIME_ZONE = "Asia/Hong_Kong";
export const dateTime = (iso) => { try { return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone: TIME_ZONE }).format(new Date(iso)); } catch (e) { return iso; } };
export const dateOnly = (iso) => { try { return new Intl.DateTimeFormat(locale, { dateStyle: "long", timeZone: "UTC" }).format(new Date(iso + "T00:00:00Z")); } catch (e) { return iso; } };
export const mmss = (seconds) => { const s = Math.max(0, Math.floor(seconds)); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); };
export const tierLabel = (tier) => (tier === "plus" ? T.tier_plus : T.tier_basic);
export const partyName = (p) => (p ? serviceName(p.name_en, p.name_zh) : "");
export const fieldLabel = (f) => (isEn ? f.label_en || f.label_zh : f.label_zh || f.label_en) || f.name;
export const timeOf = (iso) => { const t = Date.parse(iso); return Number.isNaN(t) ? 0 : t; };
export const isoDate = (v) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v);
export const claimText = (c) => (isoDate(c.value) ? dateOnly(c.value) : c.value === null || c.value === undefined ? "—" : String(c.value));
/** "Name: CHAN Tai Man" / "姓名：陳大文": a full-width colon in Chinese (issue 16, polish16 item 8). */
export const labelled = (label, value) => label + (isEn ? ": " : "：") + value;
export const listText = (items) => { try { return new Intl.ListFormat(locale, { style: "long", type: "conjunction" }).format(items); } catch (e) { return items.join(", "); } };

/** "30 days", "1 hour 30 minutes" / "30 日", "1 小時 30 分鐘": at most two units, by Intl. */
export function durationText(seconds) {
  const parts = [];
  let rest = Math.max(0, Math.floor(Number(seconds) || 0));
  for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]]) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (!n) continue;
    try {
      parts.push(new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long" }).format(n));
    } catch (e) {
      parts.push(n + " " + unit + (n === 1 ? "" : "s"));
    }
  }
  return parts.slice(0, 2).join(" ") || "0";
}

export const usesText = (maxUses) => (maxUses === null || maxUses === undefined ? T.uses_unlimited
  : maxUses === 1 ? T.uses_once : fmt(T.uses_many, { count: maxUses }));
