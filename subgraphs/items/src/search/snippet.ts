// Snippets safe to put into HTML as they are: the text is HTML-escaped (in SQL, before ts_headline:
// query.ts), then the matches that ts_headline marked with private-use characters become
// <mark>…</mark>. Nothing else in a snippet is markup, so a client may render it, or strip the two
// tags and unescape for plain text.
import { MARK_START, MARK_STOP, type Headlines } from "./query.ts";

export const SNIPPET_MARKS = { start: "<mark>", stop: "</mark>" } as const;

const ESCAPES: Readonly<Record<string, string>> = { "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * `marked` (ts_headline output of escaped text, matches between MARK_START and MARK_STOP) with
 * <mark> around the matches. The escaping here changes nothing on text escaped in SQL (`&` is left
 * alone, so nothing is escaped twice); it stands in case unescaped text ever reaches here.
 */
export function renderSnippet(marked: string): string {
  return marked
    .replace(/[<>"']/g, (character) => ESCAPES[character] as string)
    .replaceAll(MARK_START, SNIPPET_MARKS.start)
    .replaceAll(MARK_STOP, SNIPPET_MARKS.stop);
}

const marks = (text: string) => text.split(MARK_START).length - 1;

/** Of a stemmed and an as-typed headline of one text, the one marking more words (stemmed on a tie); null without any. */
function best(stemmed: string, typed: string): string | null {
  const chosen = marks(typed) > marks(stemmed) ? typed : stemmed;
  return marks(chosen) > 0 ? chosen : null;
}

/**
 * The body's headline where it has a match, else the title's; without any match (a fuzzy hit),
 * the start of the body, or the title.
 */
export function chooseSnippet(headlines: Headlines | undefined): string {
  if (!headlines) return "";
  const marked = best(headlines.body, headlines.bodySimple) ?? best(headlines.title, headlines.titleSimple);
  return renderSnippet(marked ?? (headlines.body.trim() === "" ? headlines.title : headlines.body));
}
