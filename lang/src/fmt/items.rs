//! Declarations, decorators, blocks and the fields of bodies and object
//! literals.

use super::layout::BRACES;
use super::{Gap, INDENT, Printer};
use crate::ast::{
    Assert, Block, Body, Decorator, Field, FieldKey, For, ForBinding, Ident, If, Item, ItemKind,
    Path, SourceFile,
};
use crate::span::Span;

impl Printer<'_> {
    pub(super) fn file(&mut self, file: &SourceFile) {
        self.items(&file.items);
    }

    /// The declarations of a file or block, one per line.
    fn items(&mut self, items: &[Item]) {
        for (index, item) in items.iter().enumerate() {
            self.begin_element(item.span.start, if index == 0 { Gap::First } else { Gap::Between });
            self.item(item);
        }
    }

    fn item(&mut self, item: &Item) {
        for (index, decorator) in item.decorators.iter().enumerate() {
            if index > 0 {
                self.begin_element(decorator.span.start, Gap::Tight);
            }
            self.decorator(decorator);
        }
        if let Some(last) = item.decorators.last() {
            let keyword = self.skip_trivia(last.span.end);
            self.begin_element(keyword, Gap::Tight);
        }
        match &item.kind {
            ItemKind::Param(param) => {
                self.write("param ");
                self.ident(&param.name);
                self.write(": ");
                self.ty(&param.ty);
                if let Some(default) = &param.default {
                    self.write(" = ");
                    self.expr(default);
                }
            }
            ItemKind::Let(decl) => {
                self.write("let ");
                self.ident(&decl.name);
                if let Some(ty) = &decl.ty {
                    self.write(": ");
                    self.ty(ty);
                }
                self.write(" = ");
                self.expr(&decl.value);
            }
            ItemKind::TypeAlias(alias) => {
                self.write("type ");
                self.ident(&alias.name);
                self.write(" = ");
                self.ty(&alias.ty);
            }
            ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                let keyword =
                    if matches!(item.kind, ItemKind::Resource(_)) { "resource " } else { "data " };
                self.write(keyword);
                self.ident(&resource.name);
                self.write(": ");
                self.path(&resource.kind);
                self.write(" ");
                self.body(&resource.body);
            }
            ItemKind::Output(output) => {
                self.write("output ");
                self.ident(&output.name);
                if let Some(ty) = &output.ty {
                    self.write(": ");
                    self.ty(ty);
                }
                self.write(" = ");
                self.expr(&output.value);
            }
            ItemKind::Module(module) => {
                self.write("module ");
                self.ident(&module.name);
                self.write(": ");
                self.expr(&module.source);
                self.write(" ");
                self.body(&module.body);
            }
            ItemKind::Import(import) => {
                self.write("import ");
                self.expr(&import.source);
                self.write(" as ");
                self.ident(&import.alias);
            }
            ItemKind::Provider(provider) => {
                self.write("provider ");
                self.ident(&provider.name);
                if let Some(alias) = &provider.alias {
                    self.write(" as ");
                    self.ident(alias);
                }
                self.write(" ");
                self.body(&provider.body);
            }
            ItemKind::Lifecycle(block) => {
                self.write(block.kind.keyword());
                self.write(" ");
                self.body(&block.body);
            }
            ItemKind::Mock(mock) => {
                self.write(if mock.data { "mock data " } else { "mock " });
                self.path(&mock.kind);
                self.write(" ");
                self.body(&mock.body);
            }
            ItemKind::Test(test) => {
                self.write("test ");
                self.ident(&test.name);
                self.write(" ");
                self.align_settings(&test.block.items);
                self.block(&test.block);
            }
            ItemKind::Setting(field) => {
                self.field_key(&field.key);
                let width = self.key_width(&field.key);
                let aligned = self.setting_widths.get(&field.span.start).copied().unwrap_or(width);
                self.write(&" ".repeat(aligned.saturating_sub(width)));
                self.write(" = ");
                self.expr(&field.value);
            }
            ItemKind::Assert(assert) => self.assertion("assert ", assert),
            ItemKind::Warn(assert) => self.assertion("warn ", assert),
            ItemKind::Policy(policy) => {
                self.write("policy ");
                self.ident(&policy.name);
                self.write(" ");
                self.block(&policy.block);
            }
            ItemKind::If(decl) => self.if_decl(decl),
            ItemKind::For(decl) => self.for_decl(decl),
            ItemKind::Error => {
                // Only a source with syntax errors has error nodes, and the
                // formatter refuses those; print the text as it was.
                let text = self.text(item.span.start, item.span.end);
                self.write(text);
                self.skip_comments_before(item.span.end);
            }
        }
        self.advance_to(item.span.end);
    }

    /// Pads the names of each run of consecutive settings (no blank line
    /// or comment line between them) to the widest of the run.
    fn align_settings(&mut self, items: &[Item]) {
        let mut run: Vec<(u32, usize, Span)> = Vec::new();
        let flush = |printer: &mut Self, run: &mut Vec<(u32, usize, Span)>| {
            let widest = run.iter().map(|(_, width, _)| *width).max().unwrap_or(0);
            for (start, _, _) in run.drain(..) {
                printer.setting_widths.insert(start, widest);
            }
        };
        for item in items {
            let ItemKind::Setting(field) = &item.kind else {
                flush(self, &mut run);
                continue;
            };
            let breaks = run.last().is_some_and(|(_, _, previous)| {
                self.gap_breaks_run(previous.end, field.span.start)
            });
            if breaks {
                flush(self, &mut run);
            }
            let width = self.key_width(&field.key);
            run.push((field.span.start, width, field.span));
        }
        flush(self, &mut run);
    }

    fn assertion(&mut self, keyword: &str, assert: &Assert) {
        self.write(keyword);
        self.expr(&assert.condition);
        self.write(", ");
        self.expr(&assert.message);
    }

    fn if_decl(&mut self, decl: &If) {
        for (index, (condition, block)) in decl.branches.iter().enumerate() {
            self.write(if index == 0 { "if " } else { " else if " });
            self.expr(condition);
            self.write(" ");
            self.block(block);
        }
        if let Some(block) = &decl.else_block {
            self.write(" else ");
            self.block(block);
        }
    }

    fn for_decl(&mut self, decl: &For) {
        self.write("for ");
        self.for_binding(&decl.binding);
        self.write(" in ");
        self.expr(&decl.collection);
        if let Some(key) = &decl.key {
            self.write(" key ");
            self.expr(key);
        }
        self.write(" ");
        self.block(&decl.block);
    }

    pub(super) fn for_binding(&mut self, binding: &ForBinding) {
        self.ident(&binding.first);
        if let Some(second) = &binding.second {
            self.write(", ");
            self.ident(second);
        }
    }

    fn decorator(&mut self, decorator: &Decorator) {
        self.inline_comments(decorator.span.start);
        self.write("@");
        self.ident(&decorator.name);
        if let Some(args) = &decorator.args {
            let open = self.skip_trivia(decorator.name.span.end);
            self.inline_comments(open);
            self.args(args, Span { start: open, ..decorator.span });
        }
        self.advance_to(decorator.span.end);
    }

    /// The `{ }` of `if`, `for` and `policy`: always broken, `{}` when it
    /// holds nothing, not even a comment.
    ///
    /// Comments between the code before the block and its `{` (say after
    /// the `}` before `else`) are printed inside the block, after the `{`.
    fn block(&mut self, block: &Block) {
        if block.items.is_empty() && !self.has_comments_in(block.span) {
            self.write("{}");
            self.advance_to(block.span.end);
            return;
        }
        self.write("{");
        self.advance_to(block.span.start + 1);
        let outer = self.indent;
        let base = self.line_indent();
        self.indent = base + INDENT;
        self.items(&block.items);
        let gap = if block.items.is_empty() { Gap::First } else { Gap::Between };
        self.comments_until(block.span.end - 1, gap);
        self.indent = base;
        self.start_line(false);
        self.write("}");
        self.indent = outer;
        self.advance_to(block.span.end);
    }

    fn body(&mut self, body: &Body) {
        self.fields(&body.fields, body.span);
    }

    /// The fields of a body or object literal whose braces cover `span`.
    pub(super) fn fields(&mut self, fields: &[Field], span: Span) {
        let spans: Vec<Span> = fields.iter().map(|field| field.span).collect();
        let mut widths: Option<Vec<usize>> = None;
        self.delimited(span, BRACES, &spans, &mut |printer, index, broken| {
            let field = &fields[index];
            printer.field_key(&field.key);
            if broken {
                let widths = widths.get_or_insert_with(|| printer.aligned_key_widths(fields));
                let width = printer.key_width(&field.key);
                printer.write(&" ".repeat(widths[index].saturating_sub(width)));
            }
            printer.write(" = ");
            printer.expr(&field.value);
        });
    }

    fn field_key(&mut self, key: &FieldKey) {
        match key {
            FieldKey::Name(name) => self.ident(name),
            // Comments inside a quoted name wait for the value: printed
            // before the name, they would start the field's line.
            FieldKey::Quoted(lit) => self.string_literal(lit),
        }
    }

    fn key_width(&mut self, key: &FieldKey) -> usize {
        match key {
            FieldKey::Name(name) => name.name.chars().count(),
            FieldKey::Quoted(lit) => self.measure(|printer| printer.string_literal(lit)),
        }
    }

    /// The width each field's name is padded to: the widest name of its run.
    /// A run ends at a blank line or at a comment on its own line.
    pub(super) fn aligned_key_widths(&mut self, fields: &[Field]) -> Vec<usize> {
        let widths: Vec<usize> = fields.iter().map(|field| self.key_width(&field.key)).collect();
        let mut aligned = widths.clone();
        let mut run_start = 0;
        for index in 1..=fields.len() {
            let run_ends = index == fields.len() || {
                self.gap_breaks_run(fields[index - 1].span.end, fields[index].span.start)
            };
            if run_ends {
                let widest = widths[run_start..index].iter().copied().max().unwrap_or(0);
                aligned[run_start..index].fill(widest);
                run_start = index;
            }
        }
        aligned
    }

    pub(super) fn ident(&mut self, ident: &Ident) {
        self.inline_comments(ident.span.start);
        self.write(&ident.name);
        self.advance_to(ident.span.end);
    }

    pub(super) fn path(&mut self, path: &Path) {
        for (index, segment) in path.segments.iter().enumerate() {
            if index > 0 {
                self.write(".");
            }
            self.ident(segment);
        }
        self.advance_to(path.span.end);
    }
}
