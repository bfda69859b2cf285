package dev.memmgr.internal.obs;

/**
 * A small streaming JSON writer (RFC 8259) for the dumps: objects, arrays, names, strings,
 * numbers and booleans, indented by two spaces. It checks only what it must to stay valid:
 * a name is written only inside an object, and strings are escaped (quote, backslash, control
 * characters; lone surrogates become U+FFFD so that the text is valid UTF-16 as well).
 * Not thread-safe: one per dump.
 */
public final class Json {
    private final StringBuilder out = new StringBuilder(1024);
    /** Per open container: whether it is an object, and whether it has an element yet. */
    private boolean[] isObject = new boolean[16];
    private boolean[] hasElement = new boolean[16];
    private int depth;
    /** A name was written and its value is due. */
    private boolean afterName;

    public Json beginObject() {
        beforeValue();
        out.append('{');
        push(true);
        return this;
    }

    public Json endObject() {
        pop(true, '}');
        return this;
    }

    public Json beginArray() {
        beforeValue();
        out.append('[');
        push(false);
        return this;
    }

    public Json endArray() {
        pop(false, ']');
        return this;
    }

    /** Writes the name of the next member of the current object. */
    public Json name(String name) {
        if (depth == 0 || !isObject[depth - 1] || afterName) {
            throw new IllegalStateException("a name outside an object, or two names in a row: " + name);
        }
        separator();
        string(name);
        out.append(": ");
        afterName = true;
        return this;
    }

    public Json value(String s) {
        beforeValue();
        string(s);
        return this;
    }

    public Json value(long v) {
        beforeValue();
        out.append(v);
        return this;
    }

    public Json value(boolean v) {
        beforeValue();
        out.append(v);
        return this;
    }

    /** Shorthands: a member with a value. */
    public Json field(String name, String v) {
        return name(name).value(v);
    }

    public Json field(String name, long v) {
        return name(name).value(v);
    }

    public Json field(String name, boolean v) {
        return name(name).value(v);
    }

    /** @return the text; every container must be closed */
    @Override
    public String toString() {
        if (depth != 0) {
            throw new IllegalStateException(depth + " containers still open");
        }
        return out.toString();
    }

    private void beforeValue() {
        if (afterName) {
            afterName = false;
            return;
        }
        if (depth > 0) {
            if (isObject[depth - 1]) {
                throw new IllegalStateException("a value without a name inside an object");
            }
            separator();
        } else if (!out.isEmpty()) {
            throw new IllegalStateException("a second top-level value");
        }
    }

    /** The comma before an element, and its line and indentation. */
    private void separator() {
        if (hasElement[depth - 1]) {
            out.append(',');
        }
        hasElement[depth - 1] = true;
        newline(depth);
    }

    private void push(boolean object) {
        if (depth == isObject.length) {
            isObject = java.util.Arrays.copyOf(isObject, depth * 2);
            hasElement = java.util.Arrays.copyOf(hasElement, depth * 2);
        }
        isObject[depth] = object;
        hasElement[depth] = false;
        depth++;
    }

    private void pop(boolean object, char close) {
        if (depth == 0 || isObject[depth - 1] != object || afterName) {
            throw new IllegalStateException("unbalanced " + close);
        }
        depth--;
        if (hasElement[depth]) {
            newline(depth);
        }
        out.append(close);
    }

    private void newline(int indent) {
        out.append('\n');
        for (int i = 0; i < indent; i++) {
            out.append("  ");
        }
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                        out.append(c).append(s.charAt(++i));
                    } else if (Character.isSurrogate(c)) {
                        out.append('\ufffd');
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
