/** A line diff of a cell's source before and after the rewrite (LCS; cells are small). */
import { h } from './dom';

export interface IDiffLine {
  kind: 'same' | 'del' | 'add';
  text: string;
}

export function lineDiff(before: string, after: string): IDiffLine[] {
  // an empty source has no lines (a new cell is all additions)
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  // lcs[i][j]: length of the longest common subsequence of a[i:] and b[j:]
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0)
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] =
        a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: IDiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ kind: 'same', text: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push({ kind: 'del', text: a[i++] });
    } else {
      out.push({ kind: 'add', text: b[j++] });
    }
  }
  while (i < a.length) {
    out.push({ kind: 'del', text: a[i++] });
  }
  while (j < b.length) {
    out.push({ kind: 'add', text: b[j++] });
  }
  return out;
}

const MARK = { same: ' ', del: '-', add: '+' };

/** The diff as a `<pre>`: removed lines red with `-`, added lines green with `+`. */
export function renderDiff(before: string, after: string): HTMLElement {
  const pre = h('pre', { class: 'jp-Stork-diff' });
  for (const line of lineDiff(before, after)) {
    pre.append(
      h(
        'div',
        { class: `jp-Stork-diffLine jp-mod-${line.kind}` },
        `${MARK[line.kind]} ${line.text}`
      )
    );
  }
  return pre;
}
