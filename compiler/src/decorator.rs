//! The decorators of the language, a closed vocabulary: the checker, the
//! evaluator and the editor queries decide on these, never on the text of
//! a name.

use crate::model::DeclKind;

/// A known decorator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecoratorKind {
    Description,
    DependsOn,
    PreventDestroy,
    CreateBeforeDestroy,
    IgnoreChanges,
    Timeout,
    Retry,
    Provider,
    /// `@plugin(PATH)` / `@plugin([ARGV...])` on a `provider` block: the
    /// provider is a plugin (PROVIDERS.md), run as that command.
    Plugin,
}

impl DecoratorKind {
    /// Every decorator, in the order messages list them.
    pub const ALL: [DecoratorKind; 9] = [
        DecoratorKind::Description,
        DecoratorKind::DependsOn,
        DecoratorKind::PreventDestroy,
        DecoratorKind::CreateBeforeDestroy,
        DecoratorKind::IgnoreChanges,
        DecoratorKind::Timeout,
        DecoratorKind::Retry,
        DecoratorKind::Provider,
        DecoratorKind::Plugin,
    ];

    /// Its name as written after `@`.
    pub fn name(self) -> &'static str {
        match self {
            DecoratorKind::Description => "description",
            DecoratorKind::DependsOn => "depends_on",
            DecoratorKind::PreventDestroy => "prevent_destroy",
            DecoratorKind::CreateBeforeDestroy => "create_before_destroy",
            DecoratorKind::IgnoreChanges => "ignore_changes",
            DecoratorKind::Timeout => "timeout",
            DecoratorKind::Retry => "retry",
            DecoratorKind::Provider => "provider",
            DecoratorKind::Plugin => "plugin",
        }
    }

    /// The decorator written `@name`, if there is one.
    pub fn from_name(name: &str) -> Option<DecoratorKind> {
        DecoratorKind::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The declarations it may stand on.
    pub fn applies_to(self) -> &'static [DeclKind] {
        match self {
            DecoratorKind::Description => &[
                DeclKind::Param,
                DeclKind::Let,
                DeclKind::Resource,
                DeclKind::Data,
                DeclKind::Output,
                DeclKind::Module,
                DeclKind::Import,
                DeclKind::Assert,
                DeclKind::Warn,
            ],
            DecoratorKind::DependsOn => &[DeclKind::Resource, DeclKind::Data, DeclKind::Module],
            DecoratorKind::PreventDestroy
            | DecoratorKind::CreateBeforeDestroy
            | DecoratorKind::IgnoreChanges
            | DecoratorKind::Timeout
            | DecoratorKind::Retry => &[DeclKind::Resource],
            DecoratorKind::Provider => &[DeclKind::Resource, DeclKind::Data],
            // Provider blocks are no declarations: the checker reads it
            // there (`check_provider_blocks`).
            DecoratorKind::Plugin => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for decorator in DecoratorKind::ALL {
            assert_eq!(DecoratorKind::from_name(decorator.name()), Some(decorator));
        }
        assert_eq!(DecoratorKind::from_name("prevent_destroyy"), None);
    }
}
