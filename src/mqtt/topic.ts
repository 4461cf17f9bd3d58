// Topic rules from MQTT 3.1.1 section 4.7 (the same in MQTT 5): checked before
// anything is sent, so a bad topic is a clear error rather than a dropped connection.

const MAX_TOPIC_BYTES = 65535;

/** Returns what is wrong with a topic name a client publishes to, or null. */
export function topicNameProblem(topic: string): string | null {
  const common = commonProblem(topic);
  if (common) return common;
  if (/[+#]/.test(topic)) return "a publish topic cannot contain the wildcards '+' or '#'";
  return null;
}

/** Returns what is wrong with a topic filter a client subscribes to, or null. */
export function topicFilterProblem(filter: string): string | null {
  const common = commonProblem(filter);
  if (common) return common;
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return "'#' must be a whole level and the last one (e.g. home/#)";
    }
    if (level.includes('+') && level !== '+') return "'+' must be a whole level (e.g. home/+/temperature)";
  }
  return null;
}

function commonProblem(topic: string): string | null {
  if (topic.length === 0) return 'a topic cannot be empty';
  if (topic.includes('\u0000')) return 'a topic cannot contain a NUL character';
  const size = Buffer.byteLength(topic, 'utf8');
  if (size > MAX_TOPIC_BYTES) return `a topic is at most ${MAX_TOPIC_BYTES} bytes, this one is ${size}`;
  return null;
}
