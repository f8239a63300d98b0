const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A short, human description of when `then` happened relative to `now`
 * ("just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", "Mar 5",
 * "Mar 5, 2023"). Times slightly in the future (another device's clock runs
 * ahead) read as "just now" rather than a confusing negative age.
 */
export function relativeTime(then: number, now: number): string {
  if (!Number.isFinite(then)) return '';
  const age = now - then;
  if (age < MINUTE) return 'just now';
  if (age < HOUR) return `${Math.floor(age / MINUTE)} min ago`;
  const thenDate = new Date(then);
  const nowDate = new Date(now);
  const days = calendarDaysBetween(thenDate, nowDate);
  if (days === 0) return `${Math.floor(age / HOUR)} h ago`;
  if (days === 1) return 'yesterday';
  if (days < 7) return `${days} days ago`;
  const day = `${MONTHS[thenDate.getMonth()]} ${thenDate.getDate()}`;
  return thenDate.getFullYear() === nowDate.getFullYear()
    ? day
    : `${day}, ${thenDate.getFullYear()}`;
}

// Calendar days, not 24 h periods: 23:50 yesterday is "yesterday" at 00:10.
function calendarDaysBetween(a: Date, b: Date): number {
  const startA = new Date(a.getFullYear(), a.getMonth(), a.getDate()).getTime();
  const startB = new Date(b.getFullYear(), b.getMonth(), b.getDate()).getTime();
  return Math.round((startB - startA) / DAY);
}
