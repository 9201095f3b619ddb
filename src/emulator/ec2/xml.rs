//! A tiny XML writer for EC2 responses: elements and escaped text, nothing else.

/// Builds a document element by element. Text is always escaped.
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn new(root: &str) -> Self {
        Self::with_namespace(root, "http://ec2.amazonaws.com/doc/2016-11-15/")
    }

    /// A root element in another Query service's namespace (STS).
    pub fn with_namespace(root: &str, namespace: &str) -> Self {
        let mut writer = Self {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        };
        writer.out.push('<');
        writer.out.push_str(root);
        writer.out.push_str(" xmlns=\"");
        escape_into(&mut writer.out, namespace);
        writer.out.push_str("\">");
        writer
    }

    /// A root element without the EC2 namespace (the error envelope).
    pub fn bare(root: &str) -> Self {
        let mut writer = Self {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        };
        writer.open(root);
        writer
    }

    pub fn open(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
    }

    pub fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    pub fn leaf(&mut self, tag: &str, text: &str) {
        self.open(tag);
        escape_into(&mut self.out, text);
        self.close(tag);
    }

    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
}

/// Escapes markup characters and writes every control character as a character reference,
/// so CR/LF/TAB survive parsers' whitespace normalisation and nothing raw reaches a client.
/// C0 controls other than TAB/LF/CR are not legal XML 1.0 even as references; the Rust SDK
/// accepts them, strict parsers (expat) do not (docs/emulator.md).
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("&#x{:X};", u32::from(c)));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_controls_become_references() {
        let mut out = String::new();
        escape_into(&mut out, "a<b>&\"'\u{1b}[31m\r\n\u{9b}2J 결제");
        assert_eq!(
            out,
            "a&lt;b&gt;&amp;&quot;&apos;&#x1B;[31m&#xD;&#xA;&#x9B;2J 결제"
        );
    }

    #[test]
    fn documents_nest() {
        let mut xml = XmlWriter::new("R");
        xml.open("a");
        xml.leaf("b", "1");
        xml.close("a");
        let text = xml.finish("R");
        assert!(text.ends_with(
            "<R xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><a><b>1</b></a></R>"
        ));
    }
}
